import CFloatKernels

/// Causal multi-head attention with grouped-query heads, reading keys and values straight from the paged KV
/// cache, flash-attention style: keys are visited one block (tile) at a time with an online softmax (running
/// maximum and sum), so the score matrix is never materialised and memory traffic is one pass over the cache.
/// The same kernel serves decode (one query token) and prefill chunks (many query tokens, causal).
public enum PagedAttention {
    /// - Parameters:
    ///   - query: `queryCount` rows, row `i` at `query + i * queryStride`, each `headCount × headDim` floats; row
    ///     `i` is the token at position `firstPosition + i`, whose keys/values must already be in the cache.
    ///   - keyPool, valuePool: one layer's pools in `layout` (elements of `layout.dtype`).
    ///   - scores: how scores are formed and which keys a query sees (default: `head_dim^-0.5`, all earlier keys).
    ///   - output: `queryCount` rows of `headCount × headDim`, `outputStride` apart.
    ///   - instructionSet: the kernel build to run (tests ask for every level the machine has).
    public static func run(query: UnsafePointer<Float>, queryStride: Int, queryCount: Int, firstPosition: Int,
                           headCount: Int, layout: PagedKVLayout,
                           keyPool: UnsafeRawPointer, valuePool: UnsafeRawPointer, blockTable: UnsafePointer<Int32>,
                           scores: ScoreRule? = nil,
                           output: UnsafeMutablePointer<Float>, outputStride: Int, instructionSet: InstructionSet = .best) {
        let rule = scores ?? ScoreRule(scale: Float(1 / Double(layout.headDim).squareRoot()))
        // In C (`scalellm_paged_attention`), built per instruction set and per KV element type: a tile's 16 scores
        // are one vector (16 dot products reduced together), its exponentials are computed 16 at once, and the
        // weighted sums of values stay in registers, shared by the query heads of one KV head; 16-bit keys and
        // values are converted in hardware as they are loaded (F16C, or a shift for bf16). Swift would use SSE2
        // and call `expf` once per score.
        scalellm_paged_attention(query, queryStride, queryCount, firstPosition, headCount, layout.kvHeadCount,
                                 layout.headDim, layout.blockSize, layout.dtype.code, keyPool, valuePool, blockTable,
                                 rule.scale, rule.softCap ?? 0, rule.window ?? 0, output, outputStride, instructionSet.rawValue)
    }

    /// How a layer turns `q·k` into the scores its softmax sees, and which keys each query sees.
    public struct ScoreRule: Sendable, Equatable {
        /// Scores are `q·k · scale`.
        public var scale: Float
        /// Scores become `cap · tanh(score / cap)` (Gemma 2); nil: no cap.
        public var softCap: Float?
        /// A query at position p sees keys `p - window + 1 ... p` (sliding-window attention); nil: all of `0...p`.
        public var window: Int?

        public init(scale: Float, softCap: Float? = nil, window: Int? = nil) {
            self.scale = scale
            self.softCap = softCap
            self.window = window
        }
    }
}
