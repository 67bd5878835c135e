import Kernels
import WireProtocol

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
    /// The request breaks one of the `RequestLimits` rules.
    case rejected(RequestRejection)
    case duplicateRequestID(UInt64)
    case overloaded(capacity: Int)

    public var description: String {
        switch self {
        case .rejected(let rejection): return rejection.description
        case .duplicateRequestID(let id): return "request id \(id) is already being served"
        case .overloaded(let capacity): return "the engine is serving its maximum of \(capacity) sequences; retry later"
        }
    }
}
