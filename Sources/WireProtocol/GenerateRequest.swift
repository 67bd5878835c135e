/// A tokenized generation request sent from the gateway to a worker.
///
/// Exists because tokenization happens in the gateway: the worker receives ids and sampling parameters only.
/// Zero values follow proto3 defaults; how the engine reads them (e.g. `topK <= 0` = disabled) is the engine's contract.
public struct GenerateRequest: Sendable, Equatable {
    /// Chosen by the gateway, unique per connection, never 0 (0 means "connection-level" in `ErrorReply`).
    public var requestID: UInt64
    public var promptTokenIDs: [Int32]
    public var maxTokens: UInt32
    public var temperature: Float
    public var topP: Float
    public var topK: Int32
    /// `nil` = unseeded. On the wire this is `has_seed` + `seed`.
    public var seed: UInt64?
    public var stopTokenIDs: [Int32]
    public var ignoreEOS: Bool
    public var presencePenalty: Float
    public var frequencyPenalty: Float
    /// `nil`: no logprobs; otherwise the number of most likely alternatives to return with each token's logprob.
    public var topLogprobs: UInt32?

    public init(requestID: UInt64, promptTokenIDs: [Int32], maxTokens: UInt32, temperature: Float = 1, topP: Float = 1,
                topK: Int32 = 0, seed: UInt64? = nil, stopTokenIDs: [Int32] = [], ignoreEOS: Bool = false,
                presencePenalty: Float = 0, frequencyPenalty: Float = 0, topLogprobs: UInt32? = nil) {
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.topLogprobs = topLogprobs
        self.requestID = requestID
        self.promptTokenIDs = promptTokenIDs
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.seed = seed
        self.stopTokenIDs = stopTokenIDs
        self.ignoreEOS = ignoreEOS
    }
}
