import CLibUV

/// Errors raised by the event-loop I/O layer (both processes).
///
/// It exists so that callers can tell libuv failures (with their portable libuv names such as `ECONNREFUSED`
/// or `EOF`) apart from misuse (an address that is not a literal, an operation on a closed handle) without
/// parsing strings.
public enum LoopIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A libuv call failed. `name` comes from `uv_err_name` (e.g. "ECONNREFUSED", "EOF"), `message` from `uv_strerror`.
    case libuv(code: Int32, name: String, message: String)
    /// The host string is not an IPv4 or IPv6 literal.
    case invalidAddress(String)
    /// The handle or loop is closed (or closing), so the operation cannot run.
    case closed

    /// Wraps a negative libuv status code.
    public init(uvCode code: Int32) {
        let name = uv_err_name(code).map { String(cString: $0) } ?? "UNKNOWN"
        let message = uv_strerror(code).map { String(cString: $0) } ?? "unknown error"
        self = .libuv(code: code, name: name, message: message)
    }

    /// The libuv error name (e.g. "EPIPE") when this is a libuv error.
    public var uvErrorName: String? {
        if case .libuv(_, let name, _) = self { return name }
        return nil
    }

    /// True when the peer closed the stream (libuv `UV_EOF`).
    public var isEndOfFile: Bool {
        if case .libuv(let code, _, _) = self { return code == uvEOF }
        return false
    }

    public var description: String {
        switch self {
        case .libuv(_, let name, let message): return "\(name): \(message)"
        case .invalidAddress(let host): return "not an IPv4/IPv6 literal address: \(host)"
        case .closed: return "handle or event loop is closed"
        }
    }
}

/// Throws `LoopIOError` for a negative libuv status.
@inline(__always)
package func uvCheck(_ status: Int32) throws(LoopIOError) {
    if status < 0 { throw LoopIOError(uvCode: status) }
}

/// libuv error codes whose C macros do not import into Swift (they expand to `-ECANCELED` etc.).
package let uvECANCELED = Int32(UV_ECANCELED.rawValue)
package let uvENOTCONN = Int32(UV_ENOTCONN.rawValue)
package let uvEOF = Int32(UV_EOF.rawValue)
