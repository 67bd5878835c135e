/// The weights of a decoder, named by what they do, independently of the file format and family. HuggingFace and
/// GGUF spell the same tensor differently, families spell it differently again (Gemma's `post_attention_layernorm`
/// is Llama's output norm, not its MLP norm), and some files fuse several weights into one tensor (Phi-3's
/// `qkv_proj`, GGUF's stacked experts): `location(in:)` translates this one vocabulary into the tensor (and the
/// rows of it) that holds the weight.
public enum WeightName: Sendable, Hashable, CustomStringConvertible {
    case tokenEmbedding, finalNorm, lmHead
    /// Norms: before attention, after it (Gemma), before the MLP, after it (Gemma).
    case attentionNorm(layer: Int), attentionPostNorm(layer: Int), mlpNorm(layer: Int), mlpPostNorm(layer: Int)
    case query(layer: Int), key(layer: Int), value(layer: Int), attentionOutput(layer: Int)
    case queryBias(layer: Int), keyBias(layer: Int), valueBias(layer: Int)
    /// Per-head RMSNorm weights of queries and keys (`head_dim` values).
    case queryNorm(layer: Int), keyNorm(layer: Int)
    case gate(layer: Int), up(layer: Int), down(layer: Int)
    /// A mixture of experts: the router (experts × hidden) and each expert's MLP.
    case router(layer: Int)
    case expertGate(layer: Int, expert: Int), expertUp(layer: Int, expert: Int), expertDown(layer: Int, expert: Int)

    /// Where a weight is stored: a tensor and its first row, the tensor viewed as a matrix of rows of its
    /// innermost dimension (a 3-D expert tensor is `experts × rows` rows).
    public struct Location: Sendable, Hashable {
        public var tensor: String
        public var firstRow: Int
    }

    /// Where `config`'s checkpoint in the given format stores this weight.
    public func location(in format: ModelCheckpoint.Format.Kind, config: ModelConfig) -> Location {
        switch format {
        case .huggingFace: return huggingFaceLocation(config)
        case .gguf: return ggufLocation(config)
        }
    }

    private func huggingFaceLocation(_ c: ModelConfig) -> Location {
        let gemma = c.family == .gemma2 || c.family == .gemma3, phi3 = c.family == .phi3
        func at(_ name: String, row: Int = 0) -> Location { Location(tensor: name, firstRow: row) }
        func layer(_ l: Int, _ name: String, row: Int = 0) -> Location { at("model.layers.\(l).\(name)", row: row) }
        switch self {
        case .tokenEmbedding: return at("model.embed_tokens.weight")
        case .finalNorm: return at("model.norm.weight")
        case .lmHead: return at("lm_head.weight")
        case .attentionNorm(let l): return layer(l, "input_layernorm.weight")
        case .attentionPostNorm(let l): return layer(l, "post_attention_layernorm.weight")
        case .mlpNorm(let l): return layer(l, gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")
        case .mlpPostNorm(let l): return layer(l, "post_feedforward_layernorm.weight")
        case .query(let l): return phi3 ? layer(l, "self_attn.qkv_proj.weight") : layer(l, "self_attn.q_proj.weight")
        case .key(let l): return phi3 ? layer(l, "self_attn.qkv_proj.weight", row: c.queryDim) : layer(l, "self_attn.k_proj.weight")
        case .value(let l):
            return phi3 ? layer(l, "self_attn.qkv_proj.weight", row: c.queryDim + c.kvDim) : layer(l, "self_attn.v_proj.weight")
        case .attentionOutput(let l): return layer(l, "self_attn.o_proj.weight")
        case .queryBias(let l): return layer(l, "self_attn.q_proj.bias")
        case .keyBias(let l): return layer(l, "self_attn.k_proj.bias")
        case .valueBias(let l): return layer(l, "self_attn.v_proj.bias")
        case .queryNorm(let l): return layer(l, "self_attn.q_norm.weight")
        case .keyNorm(let l): return layer(l, "self_attn.k_norm.weight")
        case .gate(let l): return phi3 ? layer(l, "mlp.gate_up_proj.weight") : layer(l, "mlp.gate_proj.weight")
        case .up(let l): return phi3 ? layer(l, "mlp.gate_up_proj.weight", row: c.intermediateSize) : layer(l, "mlp.up_proj.weight")
        case .down(let l): return layer(l, "mlp.down_proj.weight")
        case .router(let l): return layer(l, "block_sparse_moe.gate.weight")
        case .expertGate(let l, let e): return layer(l, "block_sparse_moe.experts.\(e).w1.weight")
        case .expertUp(let l, let e): return layer(l, "block_sparse_moe.experts.\(e).w3.weight")
        case .expertDown(let l, let e): return layer(l, "block_sparse_moe.experts.\(e).w2.weight")
        }
    }

    private func ggufLocation(_ c: ModelConfig) -> Location {
        let phi3 = c.family == .phi3
        func at(_ name: String, row: Int = 0) -> Location { Location(tensor: name, firstRow: row) }
        func layer(_ l: Int, _ name: String, row: Int = 0) -> Location { at("blk.\(l).\(name)", row: row) }
        switch self {
        case .tokenEmbedding: return at("token_embd.weight")
        case .finalNorm: return at("output_norm.weight")
        case .lmHead: return at("output.weight")
        case .attentionNorm(let l): return layer(l, "attn_norm.weight")
        case .attentionPostNorm(let l): return layer(l, "post_attention_norm.weight")
        case .mlpNorm(let l): return layer(l, "ffn_norm.weight")
        case .mlpPostNorm(let l): return layer(l, "post_ffw_norm.weight")
        case .query(let l): return phi3 ? layer(l, "attn_qkv.weight") : layer(l, "attn_q.weight")
        case .key(let l): return phi3 ? layer(l, "attn_qkv.weight", row: c.queryDim) : layer(l, "attn_k.weight")
        case .value(let l): return phi3 ? layer(l, "attn_qkv.weight", row: c.queryDim + c.kvDim) : layer(l, "attn_v.weight")
        case .attentionOutput(let l): return layer(l, "attn_output.weight")
        case .queryBias(let l): return layer(l, "attn_q.bias")
        case .keyBias(let l): return layer(l, "attn_k.bias")
        case .valueBias(let l): return layer(l, "attn_v.bias")
        case .queryNorm(let l): return layer(l, "attn_q_norm.weight")
        case .keyNorm(let l): return layer(l, "attn_k_norm.weight")
        case .gate(let l): return phi3 ? layer(l, "ffn_up.weight") : layer(l, "ffn_gate.weight")
        case .up(let l): return phi3 ? layer(l, "ffn_up.weight", row: c.intermediateSize) : layer(l, "ffn_up.weight")
        case .down(let l): return layer(l, "ffn_down.weight")
        case .router(let l): return layer(l, "ffn_gate_inp.weight")
        case .expertGate(let l, let e): return layer(l, "ffn_gate_exps.weight", row: e * c.intermediateSize)
        case .expertUp(let l, let e): return layer(l, "ffn_up_exps.weight", row: e * c.intermediateSize)
        case .expertDown(let l, let e): return layer(l, "ffn_down_exps.weight", row: e * c.hiddenSize)
        }
    }

    /// Whether this is a query or key weight or bias (rows a `llama` GGUF stores permuted).
    var isQueryOrKey: Bool {
        switch self {
        case .query, .key, .queryBias, .keyBias: return true
        default: return false
        }
    }

    /// Whether this is an RMSNorm weight (Gemma's checkpoints store `w` of a `(1 + w)` norm).
    public var isNorm: Bool {
        switch self {
        case .finalNorm, .attentionNorm, .attentionPostNorm, .mlpNorm, .mlpPostNorm, .queryNorm, .keyNorm: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .tokenEmbedding: return "token embedding"
        case .finalNorm: return "final norm"
        case .lmHead: return "LM head"
        case .attentionNorm(let l): return "layer \(l) attention norm"
        case .attentionPostNorm(let l): return "layer \(l) attention output norm"
        case .mlpNorm(let l): return "layer \(l) MLP norm"
        case .mlpPostNorm(let l): return "layer \(l) MLP output norm"
        case .query(let l): return "layer \(l) query"
        case .key(let l): return "layer \(l) key"
        case .value(let l): return "layer \(l) value"
        case .attentionOutput(let l): return "layer \(l) attention output"
        case .queryBias(let l): return "layer \(l) query bias"
        case .keyBias(let l): return "layer \(l) key bias"
        case .valueBias(let l): return "layer \(l) value bias"
        case .queryNorm(let l): return "layer \(l) query norm"
        case .keyNorm(let l): return "layer \(l) key norm"
        case .gate(let l): return "layer \(l) gate"
        case .up(let l): return "layer \(l) up"
        case .down(let l): return "layer \(l) down"
        case .router(let l): return "layer \(l) router"
        case .expertGate(let l, let e): return "layer \(l) expert \(e) gate"
        case .expertUp(let l, let e): return "layer \(l) expert \(e) up"
        case .expertDown(let l, let e): return "layer \(l) expert \(e) down"
        }
    }
}
