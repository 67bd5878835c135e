/// The gateway's opening frame: which protocol version it speaks and whether it can read zstd frames.
///
/// Exists so that the worker can refuse an incompatible gateway before any request is exchanged.
public struct Hello: Sendable, Equatable {
    public var protocolVersion: UInt32
    public var clientName: String
    /// The gateway decodes zstd-compressed frames; the worker may compress what it sends.
    public var acceptsZstd: Bool

    public init(protocolVersion: UInt32 = WireProtocolVersion.current, clientName: String = "", acceptsZstd: Bool = true) {
        self.protocolVersion = protocolVersion
        self.clientName = clientName
        self.acceptsZstd = acceptsZstd
    }
}

/// The worker's reply to `Hello`: what model it serves and the limits the gateway must respect.
///
/// Exists so that the gateway learns vocabulary size, context length and EOS ids without loading the model itself.
public struct HelloAck: Sendable, Equatable {
    public var protocolVersion: UInt32
    public var modelID: String
    public var eosTokenIDs: [Int32]
    /// The worker decodes zstd-compressed frames; the gateway may compress what it sends.
    public var acceptsZstd: Bool
    public var workerPID: UInt32
    /// Sequences the worker accepts at once (running plus waiting); 0 = not reported (no limit known).
    public var maxSequences: UInt32
    /// The rules the worker checks every request against; the gateway checks the same ones before sending.
    public var limits: RequestLimits
    /// The worker sends a `StatusReply` at least this often, idle or not.
    public var heartbeatIntervalMilliseconds: UInt32

    public init(protocolVersion: UInt32 = WireProtocolVersion.current, modelID: String = "", vocabSize: UInt32 = 0,
                maxContext: UInt32 = 0, eosTokenIDs: [Int32] = [], acceptsZstd: Bool = true, workerPID: UInt32 = 0,
                maxSequences: UInt32 = 0, limits: RequestLimits? = nil, heartbeatIntervalMilliseconds: UInt32 = 1000) {
        self.limits = limits ?? RequestLimits(vocabSize: Int(vocabSize), maxContext: Int(maxContext))
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.maxSequences = maxSequences
        self.protocolVersion = protocolVersion
        self.modelID = modelID
        self.eosTokenIDs = eosTokenIDs
        self.acceptsZstd = acceptsZstd
        self.workerPID = workerPID
    }

    /// Tokens in the model's vocabulary (valid ids are `0..<vocabSize`).
    public var vocabSize: UInt32 { UInt32(limits.vocabSize) }
    /// The model's context length: prompt plus generated tokens.
    public var maxContext: UInt32 { UInt32(limits.maxContext) }
}
