/// What the client saw of one streamed request, as seconds since its level started: when it was sent, when each
/// chunk carrying tokens arrived, when the response ended, the server's own token counts (`usage`), and the error
/// if it failed.
///
/// A "token chunk" is an SSE event whose choice carries text (`text`, or `delta.content` for chat) or a
/// `finish_reason`: the server had produced at least one token to send it. A server may put several tokens in
/// one chunk, so token counts come from `usage`, never from counting chunks.
public struct RequestTiming: Codable, Equatable, Sendable {
    /// Position of the request in its level (0-based, in the order requests were started).
    public var index: Int
    /// When the request's first byte was about to be written.
    public var sendTime: Double
    /// Arrival time of every token chunk, in order.
    public var tokenChunkTimes: [Double]
    /// When the response ended (or the request failed).
    public var endTime: Double
    /// `usage.prompt_tokens` from the server, if it sent usage.
    public var promptTokens: Int?
    /// `usage.completion_tokens` from the server, if it sent usage.
    public var completionTokens: Int?
    /// Why the request failed; nil when it succeeded.
    public var error: String?

    public init(index: Int, sendTime: Double, tokenChunkTimes: [Double], endTime: Double, promptTokens: Int? = nil,
                completionTokens: Int? = nil, error: String? = nil) {
        self.index = index
        self.sendTime = sendTime
        self.tokenChunkTimes = tokenChunkTimes
        self.endTime = endTime
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.error = error
    }

    public var succeeded: Bool { error == nil }

    /// When the first token chunk arrived.
    public var firstTokenTime: Double? { tokenChunkTimes.first }

    /// Time to first token: first token chunk − send.
    public var timeToFirstToken: Double? { firstTokenTime.map { $0 - sendTime } }

    /// End-to-end latency: end − send.
    public var endToEndLatency: Double { endTime - sendTime }

    /// Time between tokens of this request: (last token chunk − first token chunk) ÷ (completion tokens − 1), with
    /// the token count from `usage`. Nil without usage, with fewer than two tokens, or without a token chunk.
    public var timeBetweenTokens: Double? {
        guard let tokens = completionTokens, tokens >= 2, let first = tokenChunkTimes.first, let last = tokenChunkTimes.last else {
            return nil
        }
        return (last - first) / Double(tokens - 1)
    }

    /// Gaps between consecutive token chunks (inter-token latency as a streaming client experiences it).
    public var interChunkGaps: [Double] {
        guard tokenChunkTimes.count >= 2 else { return [] }
        return (1..<tokenChunkTimes.count).map { tokenChunkTimes[$0] - tokenChunkTimes[$0 - 1] }
    }
}
