import Foundation

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
        let headDim = layout.headDim, blockSize = layout.blockSize
        let groupSize = headCount / layout.kvHeadCount
        let scale = 1 / Float(headDim).squareRoot()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blockSize) { scoreBuffer in
            let scores = scoreBuffer.baseAddress!
            for i in 0..<queryCount {
                let position = firstPosition + i
                for h in 0..<headCount {
                    let q = query + i * queryStride + h * headDim
                    let acc = output + i * outputStride + h * headDim
                    acc.initialize(repeating: 0, count: headDim)
                    let headOffset = (h / groupSize) * headDim
                    var runningMax = -Float.infinity, runningSum: Float = 0
                    var blockStart = 0
                    while blockStart <= position {
                        let tile = min(blockSize, position + 1 - blockStart)
                        let base = Int(blockTable[blockStart / blockSize]) * layout.blockStride + headOffset
                        var tileMax = -Float.infinity
                        for t in 0..<tile {
                            let s = VectorMath.dot(q, keyPool + base + t * layout.tokenStride, count: headDim) * scale
                            scores[t] = s
                            tileMax = max(tileMax, s)
                        }
                        let newMax = max(runningMax, tileMax)
                        let correction = expf(runningMax - newMax)
                        runningSum *= correction
                        var first = true
                        for t in 0..<tile {
                            let w = expf(scores[t] - newMax)
                            runningSum += w
                            // The first value of a tile also applies the rescaling of what was accumulated before.
                            VectorMath.scaleAndAdd(acc, scale: first ? correction : 1, valuePool + base + t * layout.tokenStride,
                                                   weight: w, count: headDim)
                            first = false
                        }
                        runningMax = newMax
                        blockStart += blockSize
                    }
                    let inverse = 1 / runningSum
                    for d in 0..<headDim { acc[d] *= inverse }
                }
            }
        }
    }
}
