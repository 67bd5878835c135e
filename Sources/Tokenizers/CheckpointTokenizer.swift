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
            return try load(gguf: gguf)
        }
    }

    /// The tokenizer in the `tokenizer.ggml.*` metadata of a GGUF file. It needs only the metadata, not a
    /// `ModelCheckpoint`, so it also serves files whose architecture the engine cannot run.
    public static func load(gguf: GGUFFile) throws -> Tokenizer {
        try fromGGUF(GGUFTokenizerMetadata(gguf: gguf))
    }
}

extension GGUFTokenizerMetadata {
    /// Reads the `tokenizer.ggml.*` keys of a GGUF file. An array holding an element of the wrong type is an error
    /// naming the key and index: dropping it would shift every later id.
    public init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        let path = gguf.file.path
        /// The elements of array `key` converted by `convert`; nil when the key is absent.
        func elements<T>(_ key: String, _ kind: String, _ convert: (GGUFFile.Value) -> T?) throws -> [T]? {
            guard let value = meta[key] else { return nil }
            guard let values = value.array else { throw TokenizerError.malformed(file: path, detail: "\(key) is not an array") }
            var converted: [T] = []
            converted.reserveCapacity(values.count)
            for (index, element) in values.enumerated() {
                guard let item = convert(element) else {
                    throw TokenizerError.malformed(file: path, detail: "\(key)[\(index)] is not \(kind)")
                }
                converted.append(item)
            }
            return converted
        }
        guard let model = meta["tokenizer.ggml.model"]?.string,
              let tokens = try elements("tokenizer.ggml.tokens", "a string", \.string) else {
            throw TokenizerError.malformed(file: path, detail: "no tokenizer.ggml.model / tokenizer.ggml.tokens metadata")
        }
        self.init(model: model, preTokenizer: meta["tokenizer.ggml.pre"]?.string, tokens: tokens,
                  merges: try elements("tokenizer.ggml.merges", "a string", \.string) ?? [],
                  scores: try elements("tokenizer.ggml.scores", "a number") { $0.double.map(Float.init) },
                  tokenTypes: try elements("tokenizer.ggml.token_type", "a 32-bit integer") { $0.int.flatMap { Int32(exactly: $0) } },
                  bosID: meta["tokenizer.ggml.bos_token_id"]?.int, eosID: meta["tokenizer.ggml.eos_token_id"]?.int,
                  unknownID: meta["tokenizer.ggml.unknown_token_id"]?.int, padID: meta["tokenizer.ggml.padding_token_id"]?.int,
                  addBOS: meta["tokenizer.ggml.add_bos_token"]?.bool, addEOS: meta["tokenizer.ggml.add_eos_token"]?.bool,
                  addSpacePrefix: meta["tokenizer.ggml.add_space_prefix"]?.bool)
    }
}
