/// The rules every generation request must satisfy, with the worker's figures filled in: the one validator.
///
/// Exists so that request limits live in one place. The engine checks each request against its own
/// `RequestLimits` (`Engine.validate`); the worker sends the same value in `HelloAck`, and the gateway checks
/// requests against it before they leave, so that clients get the same answer from either side without a round
/// trip — and the worker still refuses anything a gateway let through.
public struct RequestLimits: Sendable, Equatable {
    public var vocabSize: Int
    /// Prompt plus generated tokens.
    public var maxContext: Int
    /// KV-cache blocks in the whole pool (0: not known, not checked) and tokens per block.
    public var kvBlocks: Int
    public var blockSize: Int
    /// When every layer attends within a window, a sequence holds at most the window plus one prefill chunk.
    public var slidingWindow: Int?
    public var maxBatchedTokens: Int
    /// Most likely alternatives returned per token at most (`top_logprobs`).
    public var maxTopLogprobs: Int

    /// The sampling ranges of the OpenAI API, which the engine implements as given.
    public static let temperatureRange: ClosedRange<Float> = 0...2
    public static let penaltyRange: ClosedRange<Float> = -2...2
    /// `top_p` lies in (0, 1].
    public static let topPRange: ClosedRange<Float> = Float.leastNonzeroMagnitude...1
    public static let defaultMaxTopLogprobs = 20

    public init(vocabSize: Int, maxContext: Int, kvBlocks: Int = 0, blockSize: Int = 1, slidingWindow: Int? = nil,
                maxBatchedTokens: Int = 0, maxTopLogprobs: Int = RequestLimits.defaultMaxTopLogprobs) {
        self.vocabSize = vocabSize
        self.maxContext = maxContext
        self.kvBlocks = kvBlocks
        self.blockSize = max(blockSize, 1)
        self.slidingWindow = slidingWindow
        self.maxBatchedTokens = maxBatchedTokens
        self.maxTopLogprobs = maxTopLogprobs
    }

    /// Checks the prompt and the generation length: non-empty, in the vocabulary, within the context, and small
    /// enough that the sequence could run alone in the KV cache (otherwise it would wait forever).
    public func check(promptTokens: [Int32], maxTokens: Int) throws(RequestRejection) {
        guard !promptTokens.isEmpty else { throw .emptyPrompt }
        guard maxTokens >= 1 else { throw .invalidMaxTokens(maxTokens) }
        if let bad = promptTokens.first(where: { $0 < 0 || Int($0) >= vocabSize }) {
            throw .tokenOutOfRange(bad, vocabSize: vocabSize)
        }
        let total = promptTokens.count + maxTokens
        guard total <= maxContext else {
            throw .contextExceeded(promptTokens: promptTokens.count, maxTokens: maxTokens, contextLength: maxContext)
        }
        guard kvBlocks > 0 else { return }
        var needed = (total + blockSize - 1) / blockSize
        if let slidingWindow {
            needed = min(needed, (slidingWindow + maxBatchedTokens + blockSize - 1) / blockSize + 1)
        }
        guard needed <= kvBlocks else { throw .insufficientKVCache(neededBlocks: needed, totalBlocks: kvBlocks) }
    }

    /// Checks the sampling settings: finite, within the API's ranges (`topK` 0 = off), and at most
    /// `maxTopLogprobs` alternatives per token.
    public func checkSampling(temperature: Float, topP: Float, topK: Int, presencePenalty: Float, frequencyPenalty: Float,
                              topLogprobs: Int?) throws(RequestRejection) {
        try Self.checkSamplingRanges(temperature: temperature, topP: topP, topK: topK, presencePenalty: presencePenalty,
                                     frequencyPenalty: frequencyPenalty)
        if let topLogprobs, !(0...maxTopLogprobs).contains(topLogprobs) {
            throw .outOfRange(param: "top_logprobs", value: "\(topLogprobs)", allowed: "an integer in 0...\(maxTopLogprobs)")
        }
    }

    /// The part of `checkSampling` that does not depend on the worker (the API's ranges).
    public static func checkSamplingRanges(temperature: Float, topP: Float, topK: Int, presencePenalty: Float,
                                           frequencyPenalty: Float) throws(RequestRejection) {
        try Self.require(temperature, in: Self.temperatureRange, param: "temperature")
        try Self.require(topP, in: Self.topPRange, param: "top_p", shown: "(0, 1]")
        try Self.require(presencePenalty, in: Self.penaltyRange, param: "presence_penalty")
        try Self.require(frequencyPenalty, in: Self.penaltyRange, param: "frequency_penalty")
        guard topK >= 0 else { throw .outOfRange(param: "top_k", value: "\(topK)", allowed: "0 (off) or a positive integer") }
    }

    private static func require(_ value: Float, in range: ClosedRange<Float>, param: String, shown: String? = nil) throws(RequestRejection) {
        // NaN fails `contains`, as do the infinities: only finite values in range pass.
        guard range.contains(value) else {
            throw .outOfRange(param: param, value: "\(value)", allowed: "a finite number in " + (shown ?? "\(range.lowerBound.formatted)...\(range.upperBound.formatted)"))
        }
    }
}

private extension Float {
    /// "2" rather than "2.0" in messages.
    var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
