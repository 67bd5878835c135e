import Foundation

extension ModelConfig {
    /// Reads the `<architecture>.*` and `tokenizer.ggml.*` keys of a GGUF file as llama.cpp's converter writes
    /// them (and the `rope_freqs` tensor of Llama 3). Where the file is silent, llama.cpp's own defaults apply:
    /// Gemma 2 slides every other layer, Gemma 3 five of every six (`attention.sliding_window_pattern` overrides
    /// both), Gemma 3's sliding layers use RoPE base 10000 (`rope.freq_base_swa`), and Gemma's attention scale is
    /// `head_dim^-0.5` except for the 27B models, which use `(hidden / heads)^-0.5` (the file has no
    /// `query_pre_attn_scalar`).
    public init(gguf: GGUFFile) throws(ModelFormatError) {
        let path = gguf.file.path
        let meta = gguf.metadata
        let architecture = meta["general.architecture"]?.string ?? "unknown"
        let hasExperts = gguf.tensors["blk.0.ffn_gate_exps.weight"] != nil
        let family: ModelFamily
        if architecture == "llama" {
            family = hasExperts ? .mixtral : .llama   // Mistral converts as plain llama
        } else if let named = ModelFamily(rawValue: architecture), named.ggufArchitecture == architecture {
            family = named
        } else {
            throw .unsupportedArchitecture(path: path, architecture: architecture)
        }
        let prefix = architecture + "."
        func value(_ key: String) -> GGUFFile.Value? { meta[prefix + key] }
        func int(_ key: String) throws(ModelFormatError) -> Int {
            guard let v = value(key)?.int else { throw .invalidConfig(path: path, reason: "missing metadata '\(prefix + key)'") }
            return v
        }
        func float(_ key: String) -> Float? { value(key)?.double.map { Float($0) } }
        let hidden = try int("embedding_length"), heads = try int("attention.head_count"), layerCount = try int("block_count")
        let headDim = value("attention.key_length")?.int ?? (heads > 0 ? hidden / heads : 0)
        let isGemma = family == .gemma2 || family == .gemma3

        // RoPE.
        var scaling = RopeScaling.none
        if let kind = value("rope.scaling.type")?.string, kind != "none" {
            guard kind == "linear", let factor = float("rope.scaling.factor") else {
                throw .invalidConfig(path: path, reason: "rope scaling type '\(kind)' is not supported (none or linear)")
            }
            scaling = .linear(factor: factor)
        }
        for name in ["rope_factors_long.weight", "rope_factors_short.weight"] where gguf.tensors[name] != nil {
            throw .invalidConfig(path: path, reason: "'\(name)' (LongRoPE) is not supported")
        }
        if let factors = gguf.tensors["rope_freqs.weight"] {
            var values = [Float](repeating: 0, count: factors.elementCount)
            values.withUnsafeMutableBufferPointer { factors.decode(into: $0.baseAddress!) }
            scaling = .frequencyFactors(values)
        }
        let theta = float("rope.freq_base") ?? 10000

        // Sliding-window layers.
        // 0 means no window (the Phi-3 converter writes 0 when config.json has none).
        let window = value("attention.sliding_window")?.int.map { $0 > 0 ? $0 : nil } ?? (family == .gemma2 ? 4096 : nil)
        var sliding = [Bool](repeating: true, count: layerCount)   // every layer, unless Gemma's pattern says otherwise
        if isGemma {
            if let flags = value("attention.sliding_window_pattern")?.array {
                guard flags.count >= layerCount else {
                    throw .invalidConfig(path: path, reason: "\(prefix)attention.sliding_window_pattern has \(flags.count) entries for \(layerCount) layers")
                }
                sliding = flags.prefix(layerCount).map { $0.bool ?? false }
            } else {
                let pattern = value("attention.sliding_window_pattern")?.int ?? (family == .gemma2 ? 2 : 6)
                sliding = (0..<layerCount).map { pattern == 0 || $0 % pattern < pattern - 1 }
            }
        }
        let localTheta = float("rope.freq_base_swa") ?? (family == .gemma3 ? 10000 : theta)
        let layers = sliding.map { isSliding in
            guard isSliding, let window else { return LayerAttention(window: nil, ropeTheta: theta, ropeScaling: scaling) }
            return LayerAttention(window: window, ropeTheta: localTheta, ropeScaling: family == .gemma3 ? .none : scaling)
        }

        let vocab = value("vocab_size")?.int ?? meta["tokenizer.ggml.tokens"]?.array?.count ?? 0
        func tokenID(_ key: String) throws(ModelFormatError) -> Int32? {
            guard let value = meta[key] else { return nil }
            return try Self.tokenID(value.double, key: key, path: path)
        }
        let bos = try tokenID("tokenizer.ggml.bos_token_id"), eos = try tokenID("tokenizer.ggml.eos_token_id")
        self.init(family: family, hiddenSize: hidden, layerCount: layerCount, headCount: heads,
                  kvHeadCount: value("attention.head_count_kv")?.int ?? heads, headDim: headDim,
                  intermediateSize: try int("feed_forward_length"), vocabSize: vocab,
                  rmsNormEps: float("attention.layer_norm_rms_epsilon") ?? 1e-5,
                  maxPositionEmbeddings: try int("context_length"),
                  tieWordEmbeddings: gguf.tensors["output.weight"] == nil,
                  bosTokenID: bos, eosTokenIDs: eos.map { [$0] } ?? [], layers: layers)
        attentionBias = gguf.tensors["blk.0.attn_q.bias"] != nil
        queryKeyNorm = gguf.tensors["blk.0.attn_q_norm.weight"] != nil
        if isGemma {
            sandwichNorms = true
            activation = .geluTanh
            embeddingScale = Float(Double(hidden).squareRoot())
            let isLargest = layerCount == (family == .gemma2 ? 46 : 62)
            attentionScale = Float(1 / Double(isLargest ? hidden / heads : headDim).squareRoot())
            // llama.cpp's defaults: Gemma 2 caps at 50 and 30 unless the file says otherwise; 0 means off.
            attentionSoftCap = (float("attn_logit_softcapping") ?? (family == .gemma2 ? 50 : 0)).nonZero
            finalLogitSoftCap = (float("final_logit_softcapping") ?? (family == .gemma2 ? 30 : 0)).nonZero
        }
        if hasExperts {
            experts = MixtureOfExperts(expertCount: try int("expert_count"), expertsPerToken: try int("expert_used_count"))
        }
        try validate(path: path)
    }
}

private extension Float {
    /// nil for 0 (GGUF's "off").
    var nonZero: Float? { self == 0 ? nil : self }
}
