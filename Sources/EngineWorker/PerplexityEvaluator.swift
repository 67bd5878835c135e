import Foundation
import Kernels
import ModelFormats

/// Scores a tokenized text under a model the way HuggingFace's and llama.cpp's perplexity do, so that the cost
/// of a weight format (`--dtype`) can be measured as a number: the text is cut into non-overlapping windows of
/// `context` tokens, and every token of a window but the first is predicted from all tokens before it in that
/// window. A window runs as a prefill through the paged KV cache in chunks of at most the engine's
/// `maxBatchedTokens`, asking the model for the logits of every row (`ForwardBatch.append(allLogits:)`); each
/// chunk's logits are reduced to negative log-likelihoods at once, so a window's logits never exist whole.
///
/// Not thread-safe (it drives `DecoderModel.forward`, like the engine thread does); use one evaluator per model.
public struct PerplexityEvaluator {
    let model: DecoderModel
    /// Tokens per window.
    public let context: Int
    private let chunkTokens: Int
    private let cache: KVCache
    private let blockTable: [Int32]

    /// The window length when none is asked for: the whole text when it fits in the model's context length,
    /// else that length.
    public static func defaultContext(tokenCount: Int, config: ModelConfig) -> Int {
        min(max(tokenCount, 2), config.maxPositionEmbeddings)
    }

    /// An evaluator with windows of `context` tokens. From `configuration` it takes the block size, the KV-cache
    /// settings and the chunk size (`scheduler.maxBatchedTokens`); the KV-cache budget is replaced by what one
    /// window needs.
    public init(model: DecoderModel, context: Int, configuration: EngineConfiguration) throws(PerplexityError) {
        guard context >= 2 else { throw .contextTooShort(context) }
        guard context <= model.config.maxPositionEmbeddings else {
            throw .contextTooLong(context, modelContext: model.config.maxPositionEmbeddings)
        }
        self.model = model
        self.context = context
        chunkTokens = configuration.scheduler.maxBatchedTokens
        var window = configuration
        window.kvCacheBytes = Engine.kvBytes(forTokens: context, config: model.config,
                                             dtype: configuration.kvCacheDType.resolved(for: model.precision),
                                             blockSize: configuration.blockSize)
        cache = try! Engine.makeCache(model: model, configuration: window) // holds `context` tokens, so at least one block
        blockTable = (0..<Int32(cache.blockCount)).map { $0 }
    }

    /// Scores `tokens` window by window. Throws when there are fewer than 2 tokens.
    public func evaluate(_ tokens: [Int32]) throws(PerplexityError) -> PerplexityResult {
        guard tokens.count >= 2 else { throw .tooFewTokens(tokens.count) }
        var result = PerplexityResult(tokens: 0, windows: 0, totalNLL: 0)
        for start in stride(from: 0, to: tokens.count, by: context) {
            let nll = negativeLogLikelihoods(window: tokens[start..<min(start + context, tokens.count)])
            result.tokens += nll.count
            result.windows += 1
            result.totalNLL += nll.reduce(0, +)
        }
        return result
    }

    /// `-log p(window[i] | window[..<i])` for i = 1..<count: the window's tokens but the last run through the
    /// model from position 0, row i predicting token i + 1.
    public func negativeLogLikelihoods(window: ArraySlice<Int32>) -> [Double] {
        precondition(window.count <= context, "a window of \(window.count) tokens in an evaluator of context \(context)")
        let inputs = window.dropLast(), targets = Array(window.dropFirst())
        var nll = [Double](repeating: 0, count: targets.count)
        let vocab = model.config.vocabSize
        for first in stride(from: 0, to: inputs.count, by: chunkTokens) {
            let rows = min(chunkTokens, inputs.count - first)
            var batch = ForwardBatch()
            batch.append(tokens: inputs.dropFirst(first).prefix(rows), firstPosition: first, blockTable: blockTable, allLogits: true)
            let logits = model.forward(batch, cache: cache)
            logits.withUnsafeBufferPointer { logits in
                nll.withUnsafeMutableBufferPointer { nll in
                    let out = nll.baseAddress! + first
                    ParallelLoop.run(rows) { row in
                        out[row] = Self.negativeLogLikelihood(logits.baseAddress! + row * vocab, count: vocab,
                                                              target: Int(targets[first + row]))
                    }
                }
            }
        }
        return nll
    }

    /// `-log softmax(logits)[target]`, computed in float64 from float32 logits.
    static func negativeLogLikelihood(_ logits: UnsafePointer<Float>, count: Int, target: Int) -> Double {
        let top = Double(logits[VectorMath.argmax(logits, count: count)])
        var sum = 0.0
        for i in 0..<count { sum += exp(Double(logits[i]) - top) }
        return top + log(sum) - Double(logits[target])
    }
}
