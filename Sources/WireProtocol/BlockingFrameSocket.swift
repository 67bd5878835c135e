#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected stream socket that sends and receives whole `WireMessage`s with plain blocking POSIX calls.
///
/// Exists for tests and simple command-line clients (`scalellm bench gateway` talking to a worker directly); both
/// servers run their sockets on a libuv loop and use `FrameCodec` and `FrameDecoder` directly instead.
///
/// Thread safety: `send` calls are serialised by one lock and `receive` calls by another, so one thread may send
/// while another receives. `shutdown()` may be called from any thread to wake a blocked `receive`
/// (it then throws `connectionClosed`). `close()` shuts the socket down first, then waits for both locks.

public final class BlockingFrameSocket: @unchecked Sendable {
    private let handle: SocketHandle
    private var sendLock: SocketLock { handle.sendLock }
    private var receiveLock: SocketLock { handle.receiveLock }
    private var fd: Int32 { handle.fd }
    private var sendPolicy: CompressionPolicy = .none   // guarded by sendLock
    private var decoder: FrameDecoder        // guarded by receiveLock
    private var readBuffer: [UInt8]          // guarded by receiveLock

    /// Takes ownership of a connected stream socket `fileDescriptor` (closed by `close()` or `deinit`).
    public init(fileDescriptor: Int32, maxFrameBytes: Int = 64 << 20) {
        handle = SocketHandle(fileDescriptor)
        decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        readBuffer = [UInt8](repeating: 0, count: 64 << 10)
    }

    /// Connects to a listening Unix socket at `path`.
    public static func connect(path: String, maxFrameBytes: Int = 64 << 20) throws(WireError) -> BlockingFrameSocket {
        BlockingFrameSocket(fileDescriptor: try connectUnixStream(path: path), maxFrameBytes: maxFrameBytes)
    }

    /// Two connected sockets (`socketpair(AF_UNIX, SOCK_STREAM)`): for tests, or to hand one end to a child process.
    public static func pair(maxFrameBytes: Int = 64 << 20) throws(WireError) -> (BlockingFrameSocket, BlockingFrameSocket) {
        var fds: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, streamSocketType, 0, &fds) != 0 { throw systemError("socketpair") }
        configureNewSocket(fds[0])
        configureNewSocket(fds[1])
        return (BlockingFrameSocket(fileDescriptor: fds[0], maxFrameBytes: maxFrameBytes),
                BlockingFrameSocket(fileDescriptor: fds[1], maxFrameBytes: maxFrameBytes))
    }

    /// The underlying descriptor (-1 after `close()`); still owned by this object.
    public var fileDescriptor: Int32 { sendLock.withLock { fd } }

    /// How `send` compresses; set it from the peer's `acceptsZstd` after the handshake. Starts as `.none`.
    public var compression: CompressionPolicy {
        get { sendLock.withLock { sendPolicy } }
        set { sendLock.withLock { sendPolicy = newValue } }
    }

    /// Encodes and writes one frame; returns when the kernel has taken all of it.
    public func send(_ message: WireMessage) throws(WireError) {
        try sendLock.withLock { () throws(WireError) in
            try writeAll(FrameCodec.encode(message, compression: sendPolicy))
        }
    }

    /// Writes bytes that are already a frame (e.g. one encoded batch sent to several peers, or test input).
    public func send(encodedFrame bytes: [UInt8]) throws(WireError) {
        try sendLock.withLock { () throws(WireError) in try writeAll(bytes) }
    }

    /// Blocks until a whole message arrives. `timeout` nil = wait forever; on `timedOut` partial data stays
    /// buffered for the next call. Decoder errors follow `FrameDecoder`'s rules (framing errors repeat forever).
    public func receive(timeout: Duration? = nil) throws(WireError) -> WireMessage {
        try receiveLock.withLock { () throws(WireError) -> WireMessage in
            let deadline = timeout.map { ContinuousClock.now + $0 }
            while true {
                if let message = try decoder.next() { return message }
                guard fd >= 0 else { throw .system(call: "read", errno: EBADF) }
                if deadline != nil, try !waitReadable(fd, deadline: deadline) { throw .timedOut }
                let n = readBuffer.withUnsafeMutableBytes { buf in read(fd, buf.baseAddress, buf.count) }
                if n > 0 {
                    readBuffer.withUnsafeBytes { buf in decoder.feed(UnsafeRawBufferPointer(rebasing: buf[..<n])) }
                } else if n == 0 {
                    throw .connectionClosed(bufferedBytes: decoder.bufferedByteCount)
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    // A non-blocking descriptor: without a deadline, wait here instead of spinning.
                    if deadline == nil { _ = try waitReadable(fd, deadline: nil) }
                } else if errno != EINTR {
                    throw systemError("read")
                }
            }
        }
    }

    /// Shuts both directions down without closing the descriptor: wakes a blocked `receive`, makes `send` fail.
    public func shutdown() {
        handle.shutdown()
    }

    /// Shuts down and closes the descriptor. Idempotent.
    public func close() {
        handle.close()
    }

    /// Writes one frame (call under `sendLock`).
    private func writeAll(_ bytes: [UInt8]) throws(WireError) {
        guard fd >= 0 else { throw .system(call: "send", errno: EBADF) }
        try sendAll(fd, bytes)
    }
}
