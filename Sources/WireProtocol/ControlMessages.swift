/// Asks the worker to stop a running or queued request.
///
/// Exists so that a disconnected HTTP client frees its KV-cache blocks immediately. The worker answers with a
/// final `TokenUpdate` (`.cancelled`) unless the request had already finished.
public struct Cancel: Sendable, Equatable {
    public var requestID: UInt64

    public init(requestID: UInt64) {
        self.requestID = requestID
    }
}

/// An error that is not tied to a token stream, or that ends one.
///
/// Exists so that either side can reject a frame or a connection with a typed `code`.
/// `requestID == 0` means the error concerns the whole connection (e.g. version mismatch); the sender closes it.
public struct ErrorReply: Error, Sendable, Equatable {
    public var requestID: UInt64
    public var code: ErrorCode
    public var message: String
    /// The request field at fault, as the OpenAI API names it (nil: none in particular).
    public var param: String?

    public init(requestID: UInt64, code: ErrorCode, message: String, param: String? = nil) {
        self.requestID = requestID
        self.code = code
        self.message = message
        self.param = param
    }

    /// The reply refusing `requestID` for `rejection` (one of the `RequestLimits` rules).
    public init(requestID: UInt64, _ rejection: RequestRejection) {
        self.init(requestID: requestID, code: rejection.code, message: rejection.description, param: rejection.param)
    }

    /// The connection-level reply a worker sends before closing when `checkVersion` fails.
    public static func versionMismatch(local: UInt32, remote: UInt32) -> ErrorReply {
        ErrorReply(requestID: 0, code: .versionMismatch,
                   message: "protocol version mismatch: this side speaks \(local), peer sent \(remote)")
    }
}

/// The worker's load figures: its heartbeat, sent at a fixed interval (`HelloAck.heartbeatIntervalMilliseconds`)
/// and in answer to `WireMessage.statusRequest`.
///
/// Exists so that the gateway can route requests to the least loaded worker, export metrics, and notice a worker
/// that stopped (no heartbeats) or stalled (work waiting, step count standing still).
public struct StatusReply: Sendable, Equatable {
    public var running: UInt32
    public var waiting: UInt32
    public var kvBlocksUsed: UInt32
    public var kvBlocksTotal: UInt32
    public var requestsCompleted: UInt64
    /// The worker admits no new requests (it is draining).
    public var draining: Bool
    /// Engine steps run so far: a worker with work whose count stands still is stalled.
    public var engineSteps: UInt64
    /// How long the engine has been in its current step (0 between steps): a long step is not a stall.
    public var stepElapsedMilliseconds: UInt32

    public init(running: UInt32 = 0, waiting: UInt32 = 0, kvBlocksUsed: UInt32 = 0, kvBlocksTotal: UInt32 = 0,
                requestsCompleted: UInt64 = 0, draining: Bool = false, engineSteps: UInt64 = 0, stepElapsedMilliseconds: UInt32 = 0) {
        self.engineSteps = engineSteps
        self.stepElapsedMilliseconds = stepElapsedMilliseconds
        self.draining = draining
        self.running = running
        self.waiting = waiting
        self.kvBlocksUsed = kvBlocksUsed
        self.kvBlocksTotal = kvBlocksTotal
        self.requestsCompleted = requestsCompleted
    }
}
