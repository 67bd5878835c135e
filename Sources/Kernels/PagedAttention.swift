import CFloatKernels

/// Causal multi-head attention with grouped-query heads, reading keys and values straight from the paged KV
/// cache, flash-attention style: keys are visited one block (tile) at a time with an online softmax (running
/// maximum and sum), so the score matrix is never materialised and memory traffic is one pass over the cache.
/// The same kernel serves decode (one query token) and prefill chunks (many query tokens, causal).
public enum PagedAttention {
    /// - Parameters:
    ///   - query: `queryCount` rows, row `i` at `query + i * queryStride`, each `headCount × headDim` floats; row
    ///     `i` is the token at position `firstPosition + i`, whose keys/values must already be in the cache.
    ///   - output: `queryCount` rows of `headCount × headDim`, `outputStride` apart.
    public static func run(query: UnsafePointer<Float>, queryStride: Int, queryCount: Int, firstPosition: Int,
                           headCount: Int, layout: PagedKVLayout,
                           keyPool: UnsafePointer<Float>, valuePool: UnsafePointer<Float>, blockTable: UnsafePointer<Int32>,
                           output: UnsafeMutablePointer<Float>, outputStride: Int) {
        // In C (`scalellm_paged_attention`), built per instruction set: a tile's 16 scores are one vector (16
        // dot products reduced together), its exponentials are computed 16 at once, and the weighted sums of
        // values stay in registers, shared by the query heads of one KV head; Swift would use SSE2 and call
        // `expf` once per score.
        scalellm_paged_attention(query, queryStride, queryCount, firstPosition, headCount, layout.kvHeadCount,
                                 layout.headDim, layout.blockSize, keyPool, valuePool, blockTable, output,
                                 outputStride)
    }
}
