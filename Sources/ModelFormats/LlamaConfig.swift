import Foundation

/// The hyper-parameters of a Llama-family decoder, read from a HuggingFace `config.json` (plus
/// `generation_config.json`) or from a GGUF file's `llama.*` metadata. Everything that shapes the forward pass
/// is here; nothing else in the engine reads configuration files.
public struct LlamaConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    /// Linear RoPE scaling divides positions by this factor (1 when the model has no scaling).
    public var ropeLinearScaling: Float
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int32?
    public var eosTokenIDs: [Int32]

    public var queryDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// Checks the relations the forward pass relies on.
    public func validated(path: String) throws(ModelFormatError) -> LlamaConfig {
        let positive = [("hidden_size", hiddenSize), ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                        ("num_key_value_heads", kvHeadCount), ("head_dim", headDim), ("intermediate_size", intermediateSize),
                        ("vocab_size", vocabSize), ("max_position_embeddings", maxPositionEmbeddings)]
        for (name, value) in positive where value <= 0 { throw .invalidConfig(path: path, reason: "\(name) must be positive, got \(value)") }
        guard headCount % kvHeadCount == 0 else {
            throw .invalidConfig(path: path, reason: "num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(kvHeadCount)")
        }
        guard headDim % 2 == 0 else { throw .invalidConfig(path: path, reason: "head_dim \(headDim) must be even for RoPE") }
        guard rmsNormEps > 0, ropeTheta > 0, ropeLinearScaling > 0 else {
            throw .invalidConfig(path: path, reason: "rms_norm_eps, rope_theta and the rope scaling factor must be positive")
        }
        return self
    }
}

extension LlamaConfig {
    /// Reads `config.json` (and `generation_config.json` when present) of a HuggingFace model directory.
    public init(huggingFaceDirectory directory: String) throws(ModelFormatError) {
        let path = directory + "/config.json"
        let json = try Self.readJSONObject(path)
        let architectures = json["architectures"] as? [String] ?? []
        let modelType = json["model_type"] as? String ?? ""
        guard architectures.contains("LlamaForCausalLM") || (architectures.isEmpty && modelType == "llama") else {
            throw .unsupportedArchitecture(path: path, architecture: architectures.first ?? (modelType.isEmpty ? "unknown" : modelType))
        }
        func int(_ key: String) throws(ModelFormatError) -> Int {
            guard let n = json[key] as? NSNumber else { throw .invalidConfig(path: path, reason: "missing integer '\(key)'") }
            return n.intValue
        }
        let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
        var scaling: Float = 1
        if let rope = json["rope_scaling"] as? [String: Any] {
            let kind = rope["rope_type"] as? String ?? rope["type"] as? String ?? "unknown"
            guard kind == "linear" || kind == "default", let factor = (rope["factor"] as? NSNumber)?.floatValue ?? (kind == "default" ? 1 : nil) else {
                throw .invalidConfig(path: path, reason: "rope_scaling type '\(kind)' is not supported (none or linear)")
            }
            scaling = kind == "linear" ? factor : 1
        }
        var eos = try Self.tokenIDs(json["eos_token_id"], key: "eos_token_id", path: path)
        var bos: Int32?
        if let b = json["bos_token_id"] as? NSNumber { bos = try Self.tokenID(b.doubleValue, key: "bos_token_id", path: path) }
        let generationPath = directory + "/generation_config.json"
        if FileManager.default.fileExists(atPath: generationPath) {
            let generation = try Self.readJSONObject(generationPath)
            let generationEOS = try Self.tokenIDs(generation["eos_token_id"], key: "eos_token_id", path: generationPath)
            if !generationEOS.isEmpty { eos = generationEOS }
            if let b = generation["bos_token_id"] as? NSNumber { bos = try Self.tokenID(b.doubleValue, key: "bos_token_id", path: generationPath) }
        }
        self.init(hiddenSize: hidden, layerCount: try int("num_hidden_layers"), headCount: heads,
                  kvHeadCount: (json["num_key_value_heads"] as? NSNumber)?.intValue ?? heads,
                  headDim: (json["head_dim"] as? NSNumber)?.intValue ?? (heads > 0 ? hidden / heads : 0),
                  intermediateSize: try int("intermediate_size"), vocabSize: try int("vocab_size"),
                  rmsNormEps: (json["rms_norm_eps"] as? NSNumber)?.floatValue ?? 1e-6,
                  ropeTheta: (json["rope_theta"] as? NSNumber)?.floatValue ?? 10000,
                  ropeLinearScaling: scaling,
                  maxPositionEmbeddings: (json["max_position_embeddings"] as? NSNumber)?.intValue ?? 2048,
                  tieWordEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? false,
                  bosTokenID: bos, eosTokenIDs: eos)
        self = try validated(path: path)
    }

    /// Reads the `llama.*` and `tokenizer.ggml.*` keys of a GGUF file.
    public init(gguf: GGUFFile) throws(ModelFormatError) {
        let path = gguf.file.path
        let meta = gguf.metadata
        let architecture = meta["general.architecture"]?.string ?? "unknown"
        guard architecture == "llama" else { throw .unsupportedArchitecture(path: path, architecture: architecture) }
        func int(_ key: String) throws(ModelFormatError) -> Int {
            guard let v = meta["llama." + key]?.int else { throw .invalidConfig(path: path, reason: "missing metadata 'llama.\(key)'") }
            return v
        }
        let hidden = try int("embedding_length"), heads = try int("attention.head_count")
        var scaling: Float = 1
        if let kind = meta["llama.rope.scaling.type"]?.string, kind != "none" {
            guard kind == "linear", let factor = meta["llama.rope.scaling.factor"]?.double else {
                throw .invalidConfig(path: path, reason: "rope scaling type '\(kind)' is not supported (none or linear)")
            }
            scaling = Float(factor)
        }
        let vocab = meta["llama.vocab_size"]?.int ?? meta["tokenizer.ggml.tokens"]?.array?.count ?? 0
        func tokenID(_ key: String) throws(ModelFormatError) -> Int32? {
            guard let value = meta[key] else { return nil }
            return try Self.tokenID(value.double, key: key, path: path)
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id"), eos = try tokenID("tokenizer.ggml.eos_token_id")
        self.init(hiddenSize: hidden, layerCount: try int("block_count"), headCount: heads,
                  kvHeadCount: meta["llama.attention.head_count_kv"]?.int ?? heads,
                  headDim: meta["llama.attention.key_length"]?.int ?? (heads > 0 ? hidden / heads : 0),
                  intermediateSize: try int("feed_forward_length"), vocabSize: vocab,
                  rmsNormEps: Float(meta["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5),
                  ropeTheta: Float(meta["llama.rope.freq_base"]?.double ?? 10000),
                  ropeLinearScaling: scaling,
                  maxPositionEmbeddings: try int("context_length"),
                  tieWordEmbeddings: gguf.tensors["output.weight"] == nil,
                  bosTokenID: bos, eosTokenIDs: eos.map { [$0] } ?? [])
        self = try validated(path: path)
    }

    static func readJSONObject(_ path: String) throws(ModelFormatError) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(path: path) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        return object
    }

    /// A token id read from `key` of `path`: an integer that fits in Int32, else `invalidConfig`.
    private static func tokenID(_ number: Double?, key: String, path: String) throws(ModelFormatError) -> Int32 {
        guard let number, let id = Int32(exactly: number) else {
            throw .invalidConfig(path: path, reason: "'\(key)' \(number.map { String($0) } ?? "(not a number)") is not a token id")
        }
        return id
    }

    /// One token id or a list of them (HuggingFace allows both for `eos_token_id`); empty when absent.
    private static func tokenIDs(_ value: Any?, key: String, path: String) throws(ModelFormatError) -> [Int32] {
        if let n = value as? NSNumber { return [try tokenID(n.doubleValue, key: key, path: path)] }
        guard let list = value as? [NSNumber] else { return [] }
        var ids: [Int32] = []
        for n in list { ids.append(try tokenID(n.doubleValue, key: key, path: path)) }
        return ids
    }
}
