import Foundation
import ModelFormats

extension Tokenizer {
    /// The tokenizer that belongs to an opened checkpoint: `tokenizer.json` (+ `tokenizer_config.json`) of a
    /// HuggingFace directory, or the `tokenizer.ggml.*` metadata of a GGUF file.
    public static func load(checkpoint: ModelCheckpoint) throws -> Tokenizer {
        switch checkpoint.format {
        case .huggingFace(let directory):
            return try load(directory: URL(fileURLWithPath: directory))
        case .gguf(let gguf):
            return try fromGGUF(GGUFTokenizerMetadata(gguf: gguf))
        }
    }
}

extension GGUFTokenizerMetadata {
    /// Reads the `tokenizer.ggml.*` keys of a GGUF file.
    public init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        func strings(_ key: String) -> [String]? { meta[key]?.array?.compactMap(\.string) }
        guard let model = meta["tokenizer.ggml.model"]?.string, let tokens = strings("tokenizer.ggml.tokens") else {
            throw TokenizerError.malformed(file: gguf.file.path, detail: "no tokenizer.ggml.model / tokenizer.ggml.tokens metadata")
        }
        self.init(model: model, preTokenizer: meta["tokenizer.ggml.pre"]?.string, tokens: tokens,
                  merges: strings("tokenizer.ggml.merges") ?? [],
                  scores: meta["tokenizer.ggml.scores"]?.array?.compactMap { $0.double.map(Float.init) },
                  tokenTypes: meta["tokenizer.ggml.token_type"]?.array?.compactMap { $0.int.map(Int32.init) },
                  bosID: meta["tokenizer.ggml.bos_token_id"]?.int, eosID: meta["tokenizer.ggml.eos_token_id"]?.int,
                  unknownID: meta["tokenizer.ggml.unknown_token_id"]?.int, padID: meta["tokenizer.ggml.padding_token_id"]?.int,
                  addBOS: meta["tokenizer.ggml.add_bos_token"]?.bool, addEOS: meta["tokenizer.ggml.add_eos_token"]?.bool,
                  addSpacePrefix: meta["tokenizer.ggml.add_space_prefix"]?.bool)
    }
}
