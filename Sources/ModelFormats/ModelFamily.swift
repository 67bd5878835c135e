/// The decoder families ScaleLLM computes. A family is data, not code: it decides how a checkpoint's config and
/// tensor names are read (see `ModelConfig` and `WeightName`); the forward pass reads only the resulting
/// `ModelConfig` flags, never the family.
public enum ModelFamily: String, Sendable, CaseIterable, CustomStringConvertible {
    case llama, mistral, mixtral, qwen2, qwen3, gemma2, gemma3, phi3

    /// The `architectures` entries of a HuggingFace config.json that mean this family.
    public var huggingFaceArchitectures: [String] {
        switch self {
        case .llama: return ["LlamaForCausalLM"]
        case .mistral: return ["MistralForCausalLM"]
        case .mixtral: return ["MixtralForCausalLM"]
        case .qwen2: return ["Qwen2ForCausalLM"]
        case .qwen3: return ["Qwen3ForCausalLM"]
        case .gemma2: return ["Gemma2ForCausalLM"]
        case .gemma3: return ["Gemma3ForCausalLM"]
        case .phi3: return ["Phi3ForCausalLM"]
        }
    }

    /// The `model_type` values of a config.json that mean this family (used when `architectures` is absent).
    public var huggingFaceModelTypes: [String] {
        switch self {
        case .gemma3: return ["gemma3_text"]
        default: return [rawValue]
        }
    }

    /// The `general.architecture` of a GGUF file written by llama.cpp's converter. Mistral and Mixtral are
    /// converted as `llama` (Mixtral recognised by its expert tensors).
    public var ggufArchitecture: String {
        switch self {
        case .llama, .mistral, .mixtral: return "llama"
        default: return rawValue
        }
    }

    /// Whether llama.cpp's converter permutes the rows of Q and K for its interleaved RoPE (the `llama`
    /// architecture); the other families use the "NeoX" rotate-half RoPE that HuggingFace uses and are stored as is.
    public var ggufPermutesQueryKey: Bool { ggufArchitecture == "llama" }

    public var description: String { rawValue }

    /// The family a config.json names, or nil.
    public static func huggingFace(architectures: [String], modelType: String) -> ModelFamily? {
        if let first = architectures.first { return allCases.first { $0.huggingFaceArchitectures.contains(first) } }
        return allCases.first { $0.huggingFaceModelTypes.contains(modelType) }
    }

    /// What the error for an unknown architecture lists.
    public static var supportedList: String {
        allCases.flatMap(\.huggingFaceArchitectures).joined(separator: ", ")
            + "; GGUF " + Set(allCases.map(\.ggufArchitecture)).sorted().joined(separator: ", ")
    }
}
