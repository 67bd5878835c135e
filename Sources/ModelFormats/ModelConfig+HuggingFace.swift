import Foundation

extension ModelConfig {
    /// Reads `config.json` (and `generation_config.json` when present) of a HuggingFace model directory, with the
    /// keys and defaults transformers' config class of the family uses. Options the forward pass does not
    /// implement (a RoPE type, partial rotary, MLP or output biases, another activation) are refused by name.
    public init(huggingFaceDirectory directory: String) throws(ModelFormatError) {
        let path = directory + "/config.json"
        let json = try Self.readJSONObject(path)
        let architectures = json["architectures"] as? [String] ?? []
        let modelType = json["model_type"] as? String ?? ""
        guard let family = ModelFamily.huggingFace(architectures: architectures, modelType: modelType) else {
            throw .unsupportedArchitecture(path: path, architecture: architectures.first ?? (modelType.isEmpty ? "unknown" : modelType))
        }
        func number(_ key: String) -> NSNumber? { json[key] as? NSNumber }
        func int(_ key: String) throws(ModelFormatError) -> Int {
            guard let n = number(key) else { throw .invalidConfig(path: path, reason: "missing integer '\(key)'") }
            return n.intValue
        }
        func refuse(_ reason: String) -> ModelFormatError { .invalidConfig(path: path, reason: reason + " is not supported") }
        let isGemma = family == .gemma2 || family == .gemma3
        let hidden = try int("hidden_size"), heads = try int("num_attention_heads"), layerCount = try int("num_hidden_layers")
        let headDim = number("head_dim")?.intValue ?? (heads > 0 ? hidden / heads : 0)

        let activationName = json["hidden_activation"] as? String ?? json["hidden_act"] as? String ?? (isGemma ? "gelu_pytorch_tanh" : "silu")
        let activation: GatedActivation
        switch (isGemma, activationName) {
        case (false, "silu"): activation = .silu
        case (true, "gelu_pytorch_tanh"): activation = .geluTanh
        default: throw refuse("activation '\(activationName)' for \(family)")
        }
        if let factor = number("partial_rotary_factor"), factor.doubleValue != 1 { throw refuse("partial_rotary_factor \(factor)") }
        if json["mlp_bias"] as? Bool == true { throw refuse("mlp_bias") }
        let attentionBias = family == .qwen2 || json["attention_bias"] as? Bool == true
        if attentionBias && family != .qwen2 { throw refuse("attention_bias (biases on every attention projection) for \(family)") }

        // RoPE and the layers' attention kinds.
        let theta = try Self.ropeTheta(json, path: path)
        let globalScaling = try Self.ropeScaling(json["rope_scaling"], path: path)
        let window = number("sliding_window")?.intValue
        let kinds = try Self.layerKinds(json, family: family, layerCount: layerCount, window: window, path: path)
        let layers = kinds.map { sliding in
            guard sliding else { return LayerAttention(window: nil, ropeTheta: theta, ropeScaling: globalScaling) }
            if family == .gemma3 {   // Gemma 3's local layers have their own RoPE base and no scaling
                return LayerAttention(window: window, ropeTheta: number("rope_local_base_freq")?.floatValue ?? 10000, ropeScaling: .none)
            }
            return LayerAttention(window: window, ropeTheta: theta, ropeScaling: globalScaling)
        }

        var eos = try Self.tokenIDs(json["eos_token_id"], key: "eos_token_id", path: path)
        var bos: Int32?
        if let b = number("bos_token_id") { bos = try Self.tokenID(b.doubleValue, key: "bos_token_id", path: path) }
        let generationPath = directory + "/generation_config.json"
        if FileManager.default.fileExists(atPath: generationPath) {
            let generation = try Self.readJSONObject(generationPath)
            let generationEOS = try Self.tokenIDs(generation["eos_token_id"], key: "eos_token_id", path: generationPath)
            if !generationEOS.isEmpty { eos = generationEOS }
            if let b = generation["bos_token_id"] as? NSNumber { bos = try Self.tokenID(b.doubleValue, key: "bos_token_id", path: generationPath) }
        }
        self.init(family: family, hiddenSize: hidden, layerCount: layerCount, headCount: heads,
                  kvHeadCount: number("num_key_value_heads")?.intValue ?? heads, headDim: headDim,
                  intermediateSize: try int("intermediate_size"), vocabSize: try int("vocab_size"),
                  rmsNormEps: number("rms_norm_eps")?.floatValue ?? 1e-6,
                  maxPositionEmbeddings: number("max_position_embeddings")?.intValue ?? 2048,
                  tieWordEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? isGemma,
                  bosTokenID: bos, eosTokenIDs: eos, layers: layers)
        self.attentionBias = attentionBias
        queryKeyNorm = family == .qwen3 || family == .gemma3
        self.activation = activation
        if isGemma {
            sandwichNorms = true
            normWeightOffset = 1
            embeddingScale = Float(Double(hidden).squareRoot())
            let scalar = number("query_pre_attn_scalar")?.doubleValue ?? Double(headDim)
            attentionScale = Float(1 / scalar.squareRoot())
            attentionSoftCap = number("attn_logit_softcapping")?.floatValue
            finalLogitSoftCap = number("final_logit_softcapping")?.floatValue
        }
        if family == .mixtral {
            experts = MixtureOfExperts(expertCount: try int("num_local_experts"), expertsPerToken: try int("num_experts_per_tok"))
        }
        try validate(path: path)
    }

    /// `rope_theta`, or transformers 5's `rope_parameters.rope_theta`; 10000 when neither is given.
    private static func ropeTheta(_ json: [String: Any], path: String) throws(ModelFormatError) -> Float {
        if let theta = json["rope_theta"] as? NSNumber { return theta.floatValue }
        if let parameters = json["rope_parameters"] as? [String: Any] {
            guard let theta = parameters["rope_theta"] as? NSNumber else {
                throw .invalidConfig(path: path, reason: "rope_parameters per layer type are not supported (use rope_theta and rope_scaling)")
            }
            return theta.floatValue
        }
        return 10000
    }

    /// `rope_scaling` (or `rope_parameters`): none, `default`, `linear` or `llama3`; any other type is refused.
    private static func ropeScaling(_ value: Any?, path: String) throws(ModelFormatError) -> RopeScaling {
        guard let rope = value as? [String: Any] else { return .none }
        let kind = rope["rope_type"] as? String ?? rope["type"] as? String ?? "unknown"
        func number(_ key: String) throws(ModelFormatError) -> NSNumber {
            guard let n = rope[key] as? NSNumber else { throw .invalidConfig(path: path, reason: "rope_scaling '\(kind)' has no '\(key)'") }
            return n
        }
        switch kind {
        case "default": return .none
        case "linear": return .linear(factor: try number("factor").floatValue)
        case "llama3":
            return .llama3(factor: try number("factor").floatValue, lowFrequencyFactor: try number("low_freq_factor").floatValue,
                           highFrequencyFactor: try number("high_freq_factor").floatValue,
                           originalContext: try number("original_max_position_embeddings").intValue)
        default:
            throw .invalidConfig(path: path, reason: "rope_scaling type '\(kind)' is not supported (default, linear or llama3)")
        }
    }

    /// Whether each layer is a sliding-window layer: `layer_types` when the config lists them, else the family's
    /// rule as transformers derives it (Gemma 2 alternates starting with a sliding layer, Gemma 3 makes every
    /// `sliding_window_pattern`-th layer global, Qwen slides layers from `max_window_layers` on when
    /// `use_sliding_window`, Mistral, Mixtral and Phi-3 slide every layer when `sliding_window` is set).
    private static func layerKinds(_ json: [String: Any], family: ModelFamily, layerCount: Int, window: Int?,
                                   path: String) throws(ModelFormatError) -> [Bool] {
        var kinds: [Bool]
        if let types = json["layer_types"] as? [String] {
            guard types.count == layerCount else {
                throw .invalidConfig(path: path, reason: "layer_types has \(types.count) entries for \(layerCount) layers")
            }
            kinds = []
            for type in types {
                switch type {
                case "sliding_attention": kinds.append(true)
                case "full_attention": kinds.append(false)
                default: throw .invalidConfig(path: path, reason: "layer type '\(type)' is not supported (sliding_attention or full_attention)")
                }
            }
        } else {
            switch family {
            case .gemma2: kinds = (0..<layerCount).map { $0 % 2 == 0 }
            case .gemma3:
                let pattern = (json["sliding_window_pattern"] as? NSNumber ?? json["_sliding_window_pattern"] as? NSNumber)?.intValue ?? 6
                kinds = (0..<layerCount).map { pattern <= 0 || ($0 + 1) % pattern != 0 }
            case .qwen2, .qwen3:
                let from = (json["max_window_layers"] as? NSNumber)?.intValue ?? layerCount
                kinds = (0..<layerCount).map { json["use_sliding_window"] as? Bool == true && $0 >= from }
            case .mistral, .mixtral, .phi3: kinds = Array(repeating: true, count: layerCount)
            case .llama: kinds = Array(repeating: false, count: layerCount)
            }
            if window == nil { kinds = kinds.map { _ in false } }
        }
        if window == nil && kinds.contains(true) {
            throw .invalidConfig(path: path, reason: "sliding_attention layers need a 'sliding_window'")
        }
        return kinds
    }
}
