#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected stream socket that exchanges newline-terminated lines with plain blocking POSIX calls.
///
/// Exists for the worker's admin socket, whose protocol is one JSON object per line so that operators can talk to
/// it with `socat`; it shares the socket helpers of `BlockingFrameSocket` (connect, send, poll, shutdown).
///
/// A line longer than `maxLineBytes` (without its newline) makes `readLine` throw `frameTooLarge` with the bytes
/// seen so far; the stream is then out of sync and the caller should close it. Thread safety: as
/// `BlockingFrameSocket` — one lock for writes, one for reads, `shutdown()` from any thread wakes a blocked read.
public final class BlockingLineSocket: @unchecked Sendable {
    public let maxLineBytes: Int
    private let handle: SocketHandle
    private var sendLock: SocketLock { handle.sendLock }
    private var receiveLock: SocketLock { handle.receiveLock }
    private var fd: Int32 { handle.fd }
    private var buffer: [UInt8] = []    // guarded by receiveLock: received bytes not yet returned
    private var scanned = 0             // guarded by receiveLock: bytes of `buffer` known to hold no newline

    /// Takes ownership of a connected stream socket `fileDescriptor`.
    public init(fileDescriptor: Int32, maxLineBytes: Int = 64 << 10) {
        handle = SocketHandle(fileDescriptor)
        self.maxLineBytes = maxLineBytes
    }


    /// Connects to a listening Unix socket at `path`.
    public static func connect(path: String, maxLineBytes: Int = 64 << 10) throws(WireError) -> BlockingLineSocket {
        BlockingLineSocket(fileDescriptor: try connectUnixStream(path: path), maxLineBytes: maxLineBytes)
    }

    /// The next line without its `\n` (and without a `\r` before it). `timeout` nil = wait forever; on
    /// `timedOut` partial data stays buffered. At end of stream throws `connectionClosed` (with the count of
    /// bytes of an unterminated last line).
    public func readLine(timeout: Duration? = nil) throws(WireError) -> [UInt8] {
        try receiveLock.withLock { () throws(WireError) -> [UInt8] in
            let deadline = timeout.map { ContinuousClock.now + $0 }
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                    var line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    scanned = 0
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    if line.count > maxLineBytes { throw .frameTooLarge(line.count) }
                    return line
                }
                scanned = buffer.count
                if buffer.count > maxLineBytes { throw .frameTooLarge(buffer.count) }
                guard fd >= 0 else { throw .system(call: "read", errno: EBADF) }
                if deadline != nil, try !waitReadable(fd, deadline: deadline) { throw .timedOut }
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer += chunk[..<n]
                } else if n == 0 {
                    throw .connectionClosed(bufferedBytes: buffer.count)
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    if deadline == nil { _ = try waitReadable(fd, deadline: nil) }
                } else if errno != EINTR {
                    throw systemError("read")
                }
            }
        }
    }

    /// Writes `line` followed by `\n`.
    public func writeLine(_ line: [UInt8]) throws(WireError) {
        try sendLock.withLock { () throws(WireError) in
            guard fd >= 0 else { throw .system(call: "send", errno: EBADF) }
            try sendAll(fd, line + [UInt8(ascii: "\n")])
        }
    }

    /// Writes raw bytes as they are (for tests that send partial or malformed input).
    public func writeRaw(_ bytes: [UInt8]) throws(WireError) {
        try sendLock.withLock { () throws(WireError) in
            guard fd >= 0 else { throw .system(call: "send", errno: EBADF) }
            try sendAll(fd, bytes)
        }
    }

    /// Shuts both directions down without closing the descriptor: wakes a blocked `readLine`.
    public func shutdown() {
        handle.shutdown()
    }

    /// Shuts down and closes the descriptor. Idempotent.
    public func close() {
        handle.close()
    }
}

extension UnixSocketListener {
    /// Waits for the next connection and wraps it for line-based exchange. `timeout` nil = forever.
    public func acceptLineSocket(timeout: Duration? = nil, maxLineBytes: Int = 64 << 10) throws(WireError) -> BlockingLineSocket {
        BlockingLineSocket(fileDescriptor: try acceptDescriptor(timeout: timeout), maxLineBytes: maxLineBytes)
    }
}
