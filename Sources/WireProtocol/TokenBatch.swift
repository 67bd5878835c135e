/// Why a request stopped producing tokens (`notFinished` while it is still running).
///
/// Exists so that the gateway can fill OpenAI-style `finish_reason` and release per-request state.
public enum FinishReason: Int32, Sendable, Equatable, CaseIterable {
    /// Still generating (wire value FINISH_NONE; not named `none` to avoid clashing with `Optional.none`).
    case notFinished = 0
    /// EOS or a stop token.
    case stop = 1
    /// `maxTokens` or the context limit reached.
    case length = 2
    case cancelled = 3
    /// See `TokenUpdate.errorMessage`.
    case error = 4

    public var isFinished: Bool { self != .notFinished }
}

/// Log-probabilities at one generated position: the sampled token's, and the most likely alternatives'.
///
/// Exists so that the OpenAI `logprobs` / `top_logprobs` parameters can be answered from the worker's logits.
public struct TokenLogprob: Sendable, Equatable {
    public var logprob: Float
    public var topTokenIDs: [Int32]
    public var topLogprobs: [Float]

    public init(logprob: Float, topTokenIDs: [Int32] = [], topLogprobs: [Float] = []) {
        self.logprob = logprob
        self.topTokenIDs = topTokenIDs
        self.topLogprobs = topLogprobs
    }
}

/// New tokens of one request within a `TokenBatch`.
///
/// Exists so that one engine step can report progress, completion and errors of each request it advanced.
public struct TokenUpdate: Sendable, Equatable {
    public var requestID: UInt64
    /// Tokens produced since the previous update for this request (may be empty in a final update).
    public var tokenIDs: [Int32]
    public var finishReason: FinishReason
    /// Prompt length as the engine counted it (for usage accounting); 0 if not reported in this update.
    public var promptTokens: UInt32
    /// Set when `finishReason == .error`.
    public var errorMessage: String
    /// One entry per token of `tokenIDs` when the request asked for logprobs, else empty.
    public var logprobs: [TokenLogprob]

    public init(requestID: UInt64, tokenIDs: [Int32] = [], finishReason: FinishReason = .notFinished,
                promptTokens: UInt32 = 0, errorMessage: String = "", logprobs: [TokenLogprob] = []) {
        self.logprobs = logprobs
        self.requestID = requestID
        self.tokenIDs = tokenIDs
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.errorMessage = errorMessage
    }
}

/// All token updates of one engine step, sent as one frame.
///
/// Exists because continuous batching advances many requests per step: one frame per step instead of one per
/// request keeps syscalls and framing overhead independent of the batch size.
public struct TokenBatch: Sendable, Equatable {
    public var updates: [TokenUpdate]

    public init(updates: [TokenUpdate] = []) {
        self.updates = updates
    }
}
