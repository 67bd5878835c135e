import Kernels

/// One request inside the engine: its tokens so far, how many of them have keys and values in the KV cache, the
/// blocks that hold them, and its own sampler. Prefill and decode are the same thing here: each step computes the
/// next `n` uncomputed tokens; when none are left, the sequence samples its next token.
final class SequenceState {
    enum Status { case waiting, running, finished }

    let request: GenerationRequest
    private(set) var tokens: [Int32]
    var sampler: Sampler
    var status = Status.waiting
    /// Tokens whose keys/values are in the cache (a prefix of `tokens`).
    var computedTokens = 0
    var blockTable: [Int32] = []
    /// Leading entries of `blockTable` already released because every layer's sliding window has passed them
    /// (their ids stay in the table so that positions map to entries; the attention kernel never reads them).
    var releasedBlocks = 0
    /// Leading full blocks registered with the prefix cache (or claimed from it), and where their chain ends.
    var registeredBlocks = 0
    var prefixChain = PrefixChain.empty
    /// Whether the scheduler has admitted it before: a preempted sequence that is admitted again only recomputes,
    /// so its prompt is not counted again in the prefix-cache statistics.
    var wasAdmitted = false
    var finishReason: FinishReason?

    init(_ request: GenerationRequest) {
        self.request = request
        tokens = request.promptTokens
        sampler = Sampler(request.sampling)
    }

    var id: UInt64 { request.id }
    var promptCount: Int { request.promptTokens.count }
    var outputCount: Int { tokens.count - promptCount }
    var uncomputedCount: Int { tokens.count - computedTokens }

    func append(_ token: Int32) { tokens.append(token) }
}
