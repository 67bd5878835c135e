/// llama.cpp's converter reorders the rows of the Llama architecture's Q and K projections (weights and biases) per
/// head, so that ggml's interleaved-pair RoPE (`rope_type` NORM) rotates the pairs that HuggingFace's rotate-half RoPE
/// rotates: `LlamaModel.permute` in convert_hf_to_gguf.py. A loader of `llama` GGUF files undoes it; Qwen, Phi-3 and
/// Gemma files are not permuted (llama.cpp runs them with NEOX RoPE, which is rotate-half).
public enum GGUFQKPermutation {
    /// `values` (`rows` × `columns`, row-major; `columns` is 1 for a bias) in GGUF row order: GGUF row 2j + i of a head
    /// holds HuggingFace row i·(d/2) + j of that head, d = rows / `headCount`. Pass the KV head count for K.
    public static func permute(_ values: [Float], rows: Int, columns: Int, headCount: Int) -> [Float] {
        precondition(values.count == rows * columns && rows % (2 * headCount) == 0, "Q/K rows are not whole heads of even size")
        var out = values
        let headDim = rows / headCount, half = headDim / 2
        for h in 0..<headCount {
            for i in 0..<2 {
                for j in 0..<half {
                    let hfRow = h * headDim + i * half + j, ggufRow = h * headDim + 2 * j + i
                    for c in 0..<columns { out[ggufRow * columns + c] = values[hfRow * columns + c] }
                }
            }
        }
        return out
    }
}
