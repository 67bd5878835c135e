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
/// Exists so that either side can reject a frame or a connection with a machine-readable `code`.
/// `requestID == 0` means the error concerns the whole connection (e.g. version mismatch); the sender closes it.
public struct ErrorReply: Sendable, Equatable {
    public var requestID: UInt64
    public var code: String
    public var message: String

    public init(requestID: UInt64, code: String, message: String) {
        self.requestID = requestID
        self.code = code
        self.message = message
    }

    /// `code` of the connection-level reply to an incompatible `Hello`.
    public static let versionMismatchCode = "version_mismatch"

    /// The connection-level reply a worker sends before closing when `checkVersion` fails.
    public static func versionMismatch(local: UInt32, remote: UInt32) -> ErrorReply {
        ErrorReply(requestID: 0, code: versionMismatchCode,
                   message: "protocol version mismatch: this side speaks \(local), peer sent \(remote)")
    }
}

/// The worker's load figures, answered to `WireMessage.statusRequest`.
///
/// Exists so that the gateway can route requests to the least loaded worker and export metrics.
public struct StatusReply: Sendable, Equatable {
    public var running: UInt32
    public var waiting: UInt32
    public var kvBlocksUsed: UInt32
    public var kvBlocksTotal: UInt32
    public var requestsCompleted: UInt64
    /// The worker admits no new requests (it is draining).
    public var draining: Bool

    public init(running: UInt32 = 0, waiting: UInt32 = 0, kvBlocksUsed: UInt32 = 0, kvBlocksTotal: UInt32 = 0,
                requestsCompleted: UInt64 = 0, draining: Bool = false) {
        self.draining = draining
        self.running = running
        self.waiting = waiting
        self.kvBlocksUsed = kvBlocksUsed
        self.kvBlocksTotal = kvBlocksTotal
        self.requestsCompleted = requestsCompleted
    }
}
