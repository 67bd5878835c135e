import ChatTemplates
import Foundation
import ModelFormats
import Tokenizers

extension ChatTemplateConfiguration {
    /// The chat template of a checkpoint: `tokenizer_config.json` (or `chat_template.jinja`) of a HuggingFace
    /// directory, or the `tokenizer.chat_template` metadata of a GGUF file with the tokenizer's BOS/EOS pieces.
    /// A model without one renders with `ChatTemplate.fallback`.
    public static func load(checkpoint: ModelCheckpoint, tokenizer: Tokenizer) throws -> ChatTemplateConfiguration {
        switch checkpoint.format {
        case .huggingFace(let directory):
            let config = directory + "/tokenizer_config.json"
            guard FileManager.default.fileExists(atPath: config) else {
                return ChatTemplateConfiguration(nil, bosToken: nil, eosToken: nil)
            }
            return try load(tokenizerConfig: config)
        case .gguf(let gguf):
            let template = try gguf.metadata["tokenizer.chat_template"]?.string.map { source throws -> ChatTemplate in
                do { return try ChatTemplate(source: source) } catch {
                    throw ModelFormatError.invalidConfig(path: gguf.file.path, reason: "tokenizer.chat_template does not parse: \(error)")
                }
            }
            return ChatTemplateConfiguration(template, bosToken: tokenizer.bosTokenID.flatMap(tokenizer.tokenString),
                                             eosToken: tokenizer.eosTokenID.flatMap(tokenizer.tokenString))
        }
    }
}
