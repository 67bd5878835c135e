#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can go wrong while framing, encoding, decoding or moving frames over a socket.
///
/// Exists so that callers handle one typed error (`throws(WireError)`) and can tell a misbehaving peer
/// (`badHeader`, `malformedMessage`, ...) from an I/O condition (`connectionClosed`, `timedOut`, `system`).
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A frame (compressed length, declared decompressed size, or an encoded payload over 4 GiB) exceeds the limit.
    /// The associated value is the offending size in bytes.
    case frameTooLarge(Int)
    /// The 5-byte frame header is invalid (reserved flag bits set). The stream is out of sync.
    case badHeader(String)
    /// The payload is flagged as zstd but is not a valid zstd frame, or its size is undeclared.
    case decompressionFailed(String)
    /// zstd failed while encoding (should not happen for valid levels).
    case compressionFailed(String)
    /// The payload is not a valid packed `Frame`, its oneof is empty, or a field has an invalid value.
    case malformedMessage(String)
    /// The `Frame` carries a body this build does not know (a newer peer); the frame was skipped.
    case unknownMessage
    /// A message cannot be represented on the wire (e.g. a string containing NUL, which protobuf-c cannot carry).
    case unencodable(String)
    /// `Hello` / `HelloAck` carried an incompatible protocol version.
    case versionMismatch(local: UInt32, remote: UInt32)
    /// The peer answered with a connection-level `ErrorReply` where another message was expected.
    case remoteError(code: String, message: String)
    /// The peer closed the connection (at a frame boundary when `bufferedBytes == 0`, else mid-frame).
    case connectionClosed(bufferedBytes: Int)
    /// No complete frame / connection arrived within the timeout.
    case timedOut
    /// A POSIX call failed.
    case system(call: String, errno: Int32)
    /// A Unix socket path that cannot be used (too long for `sockaddr_un`, or an existing non-socket file).
    case invalidSocketPath(String)

    public var description: String {
        switch self {
        case .frameTooLarge(let n): return "frame too large: \(n) bytes"
        case .badHeader(let why): return "bad frame header: \(why)"
        case .decompressionFailed(let why): return "zstd decompression failed: \(why)"
        case .compressionFailed(let why): return "zstd compression failed: \(why)"
        case .malformedMessage(let why): return "malformed message: \(why)"
        case .unknownMessage: return "unknown message kind (peer speaks a newer protocol?)"
        case .unencodable(let why): return "message cannot be encoded: \(why)"
        case .versionMismatch(let local, let remote):
            return "protocol version mismatch: local \(local), remote \(remote)"
        case .remoteError(let code, let message): return "peer reported error \(code): \(message)"
        case .connectionClosed(let buffered):
            return buffered == 0 ? "connection closed by peer" : "connection closed by peer mid-frame (\(buffered) bytes buffered)"
        case .timedOut: return "timed out"
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .invalidSocketPath(let why): return "invalid socket path: \(why)"
        }
    }
}
