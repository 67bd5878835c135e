/// Why a request or a connection was refused or failed: the `ErrorCode` enum of `scalellm.proto`.
///
/// Exists so that both processes branch on one typed value instead of strings mapped by hand on each side; `name`
/// is the spelling clients see as the OpenAI error `code`.
public enum ErrorCode: Int32, Sendable, CaseIterable {
    case unspecified = 0
    case versionMismatch = 1
    /// The frame could not be decoded (bad header, malformed payload, bad compression, too large).
    case badFrame = 2
    /// A message this side never accepts.
    case unexpectedMessage = 3
    /// A message other than `Hello` before the handshake.
    case helloRequired = 4
    case tooManyConnections = 5
    /// A field is missing, out of range or not finite; `ErrorReply.param` names it.
    case invalidRequest = 6
    case contextLengthExceeded = 7
    case kvCacheTooSmall = 8
    case overloaded = 9
    case draining = 10
    /// The worker's tensor-parallel group failed; the worker stops.
    case workerFailed = 11

    /// The snake_case name used in logs and as the OpenAI error `code`.
    public var name: String {
        switch self {
        case .unspecified: return "internal_error"
        case .versionMismatch: return "version_mismatch"
        case .badFrame: return "bad_frame"
        case .unexpectedMessage: return "unexpected_message"
        case .helloRequired: return "hello_required"
        case .tooManyConnections: return "too_many_connections"
        case .invalidRequest: return "invalid_request"
        case .contextLengthExceeded: return "context_length_exceeded"
        case .kvCacheTooSmall: return "kv_cache_too_small"
        case .overloaded: return "overloaded"
        case .draining: return "draining"
        case .workerFailed: return "worker_failed"
        }
    }
}
