import Kernels

/// One completion to compute: prompt token ids and how to continue them. The engine's unit of work, whether it
/// comes from the CLI or from the gateway over the wire.
public struct GenerationRequest: Sendable {
    public var id: UInt64
    public var promptTokens: [Int32]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Tokens that end the sequence (the model's EOS ids unless `ignoreEOS`), plus any the client adds.
    public var stopTokenIDs: Set<Int32>

    public init(id: UInt64, promptTokens: [Int32], maxTokens: Int, sampling: SamplingParameters = .greedy,
                stopTokenIDs: Set<Int32> = []) {
        self.id = id
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokenIDs = stopTokenIDs
    }
}

/// Why a sequence stopped.
public enum FinishReason: String, Sendable {
    /// A stop token was generated (it is included in the output ids).
    case stop
    /// `maxTokens` were generated.
    case length
    /// The caller asked to stop (client gone).
    case cancelled
}

/// Requests the engine refuses, with messages meant for the API user.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt
    /// `maxTokens` below 1: the engine samples at least one token per request, so it cannot honour 0.
    case invalidMaxTokens(Int)
    case contextExceeded(promptTokens: Int, maxTokens: Int, contextLength: Int)
    case insufficientKVCache(neededBlocks: Int, totalBlocks: Int)
    case tokenOutOfRange(Int32, vocabSize: Int)
    case duplicateRequestID(UInt64)
    case overloaded(capacity: Int)

    public var description: String {
        switch self {
        case .emptyPrompt: return "the prompt is empty"
        case .invalidMaxTokens(let m): return "max_tokens must be at least 1, got \(m)"
        case .contextExceeded(let p, let m, let c):
            return "this model's maximum context length is \(c) tokens; the prompt has \(p) tokens and max_tokens is \(m) (\(p + m) in total)"
        case .insufficientKVCache(let needed, let total):
            return "the request needs \(needed) KV-cache blocks but the cache has only \(total); raise --kv-cache-memory or lower max_tokens"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary (0..<\(v))"
        case .duplicateRequestID(let id): return "request id \(id) is already being served"
        case .overloaded(let capacity): return "the engine is serving its maximum of \(capacity) sequences; retry later"
        }
    }
}
