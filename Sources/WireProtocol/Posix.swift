import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Small POSIX helpers shared by BlockingFrameSocket, BlockingLineSocket and UnixSocketListener. Internal only.

/// A `WireError.system` carrying the current `errno`.
func systemError(_ call: String) -> WireError { .system(call: call, errno: errno) }

#if os(Linux)
let streamSocketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
let sendNoSignal = Int32(MSG_NOSIGNAL)
#else
let streamSocketType = SOCK_STREAM
let sendNoSignal: Int32 = 0
#endif

/// Creates a close-on-exec Unix stream socket (workers are started with posix_spawn; fds must not leak into them).
func makeUnixStreamSocket() throws(WireError) -> Int32 {
    let fd = socket(AF_UNIX, streamSocketType, 0)
    if fd < 0 { throw systemError("socket") }
    configureNewSocket(fd)
    return fd
}

/// Per-socket setup that Linux does through flags: no SIGPIPE on Darwin, close-on-exec where not atomic.
func configureNewSocket(_ fd: Int32) {
    #if !os(Linux)
    var one: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    #endif
}

/// A `sockaddr_un` for `path`, or `invalidSocketPath` if it does not fit (108 bytes on Linux incl. NUL).
func makeSockaddrUn(_ path: String) throws(WireError) -> sockaddr_un {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: addr.sun_path)
    guard !bytes.isEmpty else { throw .invalidSocketPath("empty path") }
    guard !bytes.contains(0) else { throw .invalidSocketPath("path contains NUL") }
    guard bytes.count < capacity else {
        throw .invalidSocketPath("\(path) is \(bytes.count) bytes, sockaddr_un holds \(capacity - 1)")
    }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: bytes) }
    return addr
}

/// Calls `body` with `addr` viewed as a generic `sockaddr`.
func withSockaddr<R>(_ addr: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var copy = addr
    return withUnsafePointer(to: &copy) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// Connects a new close-on-exec stream socket to the Unix socket at `path`; the caller owns the descriptor.
func connectUnixStream(path: String) throws(WireError) -> Int32 {
    let addr = try makeSockaddrUn(path)
    let fd = try makeUnixStreamSocket()
    while true {
        let r = withSockaddr(addr) { p, len in
            #if canImport(Glibc)
            Glibc.connect(fd, p, len)
            #elseif canImport(Musl)
            Musl.connect(fd, p, len)
            #else
            Darwin.connect(fd, p, len)
            #endif
        }
        if r == 0 { return fd }
        if errno == EINTR { continue }
        let error = systemError("connect(\(path))")
        _ = posixClose(fd)
        throw error
    }
}

/// Writes all of `bytes` to the stream socket `fd` (no SIGPIPE), retrying short writes and EINTR; a non-blocking
/// descriptor's full buffer is waited out with `poll`.
func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(WireError) {
    let flags = sendNoSignal
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { buf in
            #if canImport(Glibc)
            Glibc.send(fd, buf.baseAddress! + offset, buf.count - offset, flags)
            #elseif canImport(Musl)
            Musl.send(fd, buf.baseAddress! + offset, buf.count - offset, flags)
            #else
            Darwin.send(fd, buf.baseAddress! + offset, buf.count - offset, flags)
            #endif
        }
        if n >= 0 { offset += n; continue }
        switch errno {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: _ = try waitUntilReady(fd, for: POLLOUT, deadline: nil)
        default: throw systemError("send")
        }
    }
}

/// Waits until `fd` is readable (or hung up). Returns false when `deadline` passed first; nil deadline = forever.
func waitReadable(_ fd: Int32, deadline: ContinuousClock.Instant?) throws(WireError) -> Bool {
    try waitUntilReady(fd, for: POLLIN, deadline: deadline)
}

/// Waits until `poll` reports `events` (or a hang-up or error) on `fd`. Returns false when `deadline` passed first;
/// nil deadline = forever.
private func waitUntilReady(_ fd: Int32, for events: Int32, deadline: ContinuousClock.Instant?) throws(WireError) -> Bool {
    while true {
        var timeoutMS: Int32 = -1
        if let deadline {
            let remaining = deadline - .now
            timeoutMS = remaining <= .zero ? 0 : milliseconds(roundingUp: remaining)
        }
        var pfd = pollfd(fd: fd, events: Int16(events), revents: 0)
        let r = poll(&pfd, 1, timeoutMS)
        if r > 0 { return true }
        if r == 0 {
            // poll may wake a little early; only give up once the deadline has really passed.
            if let deadline, ContinuousClock.now < deadline { continue }
            return false
        }
        if errno == EINTR { continue }
        throw systemError("poll")
    }
}

private func milliseconds(roundingUp d: Duration) -> Int32 {
    let (seconds, attoseconds) = d.components
    let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: ms)
}

/// A lock held around blocking socket calls: `Synchronization.Mutex` guarding no value, in a class so that a socket's
/// send and receive sides can each hold one across calls that block.
final class SocketLock: Sendable {
    private let mutex = Mutex<Void>(())

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try mutex.withLock { (_: inout Void) throws(E) -> sending T in try body() }
    }
}

/// Module-qualified `close` / `shutdown`: inside the socket classes the bare names resolve to their methods.
@inline(__always) func posixClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #elseif canImport(Musl)
    Musl.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

/// `shutdown(fd, SHUT_RDWR)`.
@inline(__always) func posixShutdown(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.shutdown(fd, Int32(SHUT_RDWR))
    #elseif canImport(Musl)
    Musl.shutdown(fd, Int32(SHUT_RDWR))
    #else
    Darwin.shutdown(fd, SHUT_RDWR)
    #endif
}
