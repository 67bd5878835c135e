/// The weights of a Llama decoder, named independently of the file format. HuggingFace and GGUF spell the same
/// tensor differently; the checkpoint readers translate this one vocabulary into theirs.
public enum WeightName: Sendable, Hashable, CustomStringConvertible {
    case tokenEmbedding, finalNorm, lmHead
    case attentionNorm(layer: Int), query(layer: Int), key(layer: Int), value(layer: Int), attentionOutput(layer: Int)
    case mlpNorm(layer: Int), gate(layer: Int), up(layer: Int), down(layer: Int)

    /// The tensor name in a HuggingFace safetensors checkpoint.
    public var huggingFaceName: String {
        switch self {
        case .tokenEmbedding: return "model.embed_tokens.weight"
        case .finalNorm: return "model.norm.weight"
        case .lmHead: return "lm_head.weight"
        case .attentionNorm(let l): return "model.layers.\(l).input_layernorm.weight"
        case .query(let l): return "model.layers.\(l).self_attn.q_proj.weight"
        case .key(let l): return "model.layers.\(l).self_attn.k_proj.weight"
        case .value(let l): return "model.layers.\(l).self_attn.v_proj.weight"
        case .attentionOutput(let l): return "model.layers.\(l).self_attn.o_proj.weight"
        case .mlpNorm(let l): return "model.layers.\(l).post_attention_layernorm.weight"
        case .gate(let l): return "model.layers.\(l).mlp.gate_proj.weight"
        case .up(let l): return "model.layers.\(l).mlp.up_proj.weight"
        case .down(let l): return "model.layers.\(l).mlp.down_proj.weight"
        }
    }

    /// The tensor name in a llama.cpp GGUF file.
    public var ggufName: String {
        switch self {
        case .tokenEmbedding: return "token_embd.weight"
        case .finalNorm: return "output_norm.weight"
        case .lmHead: return "output.weight"
        case .attentionNorm(let l): return "blk.\(l).attn_norm.weight"
        case .query(let l): return "blk.\(l).attn_q.weight"
        case .key(let l): return "blk.\(l).attn_k.weight"
        case .value(let l): return "blk.\(l).attn_v.weight"
        case .attentionOutput(let l): return "blk.\(l).attn_output.weight"
        case .mlpNorm(let l): return "blk.\(l).ffn_norm.weight"
        case .gate(let l): return "blk.\(l).ffn_gate.weight"
        case .up(let l): return "blk.\(l).ffn_up.weight"
        case .down(let l): return "blk.\(l).ffn_down.weight"
        }
    }

    public var description: String { huggingFaceName }
}
