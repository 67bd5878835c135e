import Foundation

/// A GGUF architecture as llama.cpp's converter writes it: which HuggingFace architectures map to it, the
/// hyperparameter keys its converter class writes (`set_gguf_parameters`), and the GGUF names of its tensors
/// (gguf-py's tensor_mapping.py). Mistral and Mixtral are `llama` in GGUF, as in convert_hf_to_gguf.py.
enum LlamaCppArchitecture: String {
    case llama, qwen2, qwen3, phi3, gemma2, gemma3

    init(huggingFace name: String) throws {
        switch name {
        case "LlamaForCausalLM", "MistralForCausalLM", "MixtralForCausalLM": self = .llama
        case "Qwen2ForCausalLM": self = .qwen2
        case "Qwen3ForCausalLM": self = .qwen3
        case "Phi3ForCausalLM": self = .phi3
        case "Gemma2ForCausalLM": self = .gemma2
        case "Gemma3ForCausalLM": self = .gemma3
        default: throw FixtureGGUFConverter.ConversionError("architecture \(name) is not converted")
        }
    }

    var isGemma: Bool { self == .gemma2 || self == .gemma3 }

    /// The `<arch>.*` hyperparameter keys and `general.file_type`, in the converter's order (a key written twice keeps
    /// its first place, as in gguf-py).
    func hyperparameters(_ c: HFCheckpoint, fileType: UInt32, into w: inout GGUFWriter) throws {
        let arch = rawValue
        func u32(_ key: String, _ value: Int) { w.set("\(arch).\(key)", .u32(UInt32(value))) }
        func f32(_ key: String, _ value: Double) { w.set("\(arch).\(key)", .f32(Float(value))) }
        let layers = try c.int("num_hidden_layers"), hidden = try c.int("hidden_size"), heads = try c.int("num_attention_heads")
        let kvHeads = try c.int("num_key_value_heads"), context = try c.int("max_position_embeddings")
        let feedForward = try c.int("intermediate_size"), epsilon = try c.double("rms_norm_eps")
        let headDim = c.number("head_dim")?.intValue

        switch self {
        case .llama, .qwen2, .qwen3, .gemma3:
            // TextModel.set_gguf_parameters.
            u32("block_count", layers)
            u32("context_length", context)
            u32("embedding_length", hidden)
            u32("feed_forward_length", feedForward)
            u32("attention.head_count", heads)
            u32("attention.head_count_kv", kvHeads)
            let ropeType = (c.config["rope_scaling"] as? [String: Any]).flatMap { $0["rope_type"] ?? $0["type"] } as? String
            guard ropeType == nil || ropeType == "default" || ropeType == "llama3" else {
                throw FixtureGGUFConverter.ConversionError("rope_scaling type \(ropeType!) is not converted")
            }
            if let theta = c.number("rope_theta") { f32("rope.freq_base", theta.doubleValue) }
            if let theta = c.number("rope_local_base_freq") { f32("rope.freq_base_swa", theta.doubleValue) }
            f32("attention.layer_norm_rms_epsilon", epsilon)
            if let experts = c.number("num_local_experts", "num_experts") { u32("expert_count", experts.intValue) }
            if let used = c.number("num_experts_per_tok") { u32("expert_used_count", used.intValue) }
            if let headDim {
                u32("attention.key_length", headDim)
                u32("attention.value_length", headDim)
            }
            w.set("general.file_type", .u32(fileType))
        case .phi3:
            // Phi3MiniModel.set_gguf_parameters (not TextModel's).
            u32("context_length", context)
            u32("rope.scaling.original_context_length", try c.int("original_max_position_embeddings"))
            u32("embedding_length", hidden)
            u32("feed_forward_length", feedForward)
            u32("block_count", layers)
            u32("attention.head_count", heads)
            u32("attention.head_count_kv", kvHeads)
            f32("attention.layer_norm_rms_epsilon", epsilon)
            let rotaryFraction = c.number("partial_rotary_factor")?.doubleValue ?? 1
            u32("rope.dimension_count", Int(rotaryFraction * Double(hidden)) / heads)
            f32("rope.freq_base", try c.double("rope_theta"))
            w.set("general.file_type", .u32(fileType))
            u32("attention.sliding_window", c.number("sliding_window")?.intValue ?? 0)
        case .gemma2:
            // Gemma2Model.set_gguf_parameters (not TextModel's): no rope.freq_base (llama.cpp's default is 10000).
            u32("context_length", context)
            u32("embedding_length", hidden)
            u32("block_count", layers)
            u32("feed_forward_length", feedForward)
            u32("attention.head_count", heads)
            u32("attention.head_count_kv", kvHeads)
            f32("attention.layer_norm_rms_epsilon", epsilon)
            u32("attention.key_length", try c.int("head_dim"))
            u32("attention.value_length", try c.int("head_dim"))
            w.set("general.file_type", .u32(fileType))
            f32("attn_logit_softcapping", try c.double("attn_logit_softcapping"))
            f32("final_logit_softcapping", try c.double("final_logit_softcapping"))
            u32("attention.sliding_window", try c.int("sliding_window"))
        }

        switch self {
        case .llama:
            u32("vocab_size", try c.int("vocab_size"))
            u32("rope.dimension_count", headDim ?? hidden / heads)
        case .gemma3:
            // Gemma3Model.set_gguf_parameters after TextModel's.
            if let cap = c.number("final_logit_softcapping"), cap.doubleValue != 0 { f32("final_logit_softcapping", cap.doubleValue) }
            if c.number("sliding_window_pattern")?.intValue != 1 { u32("attention.sliding_window", try c.int("sliding_window")) }
        case .qwen2, .qwen3, .phi3, .gemma2:
            break
        }
    }

    /// The GGUF name of a HuggingFace tensor (expert tensors excepted: `FixtureGGUFConverter` stacks them).
    func tensorName(_ hfName: String) throws -> String {
        switch hfName {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let parts = hfName.split(separator: ".")
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
              let suffix = parts.last, suffix == "weight" || suffix == "bias",
              let name = blockTensorNames[parts[3..<(parts.count - 1)].joined(separator: ".")] else {
            throw FixtureGGUFConverter.ConversionError("no GGUF name for tensor \(hfName) (\(rawValue))")
        }
        return "blk.\(layer).\(name).\(suffix)"
    }

    /// Per-layer module → GGUF name. Gemma's post_attention_layernorm follows attention (its pre_feedforward_layernorm
    /// is the `ffn_norm`); elsewhere it is the norm before the MLP. Phi-3's fused `gate_up_proj` becomes `ffn_up`.
    private var blockTensorNames: [String: String] {
        [
            "input_layernorm": "attn_norm",
            "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output", "self_attn.qkv_proj": "attn_qkv",
            "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
            "post_attention_layernorm": isGemma ? "post_attention_norm" : "ffn_norm",
            "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
            "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down", "mlp.gate_up_proj": "ffn_up",
            "block_sparse_moe.gate": "ffn_gate_inp",
        ]
    }
}
