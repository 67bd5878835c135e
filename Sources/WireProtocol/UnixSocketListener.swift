#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening Unix domain stream socket at a filesystem path.
///
/// Exists because each engine worker listens on its own socket paths (gateways, admin). The worker's event loop
/// adopts the descriptor (`takeDescriptor()`, then libuv accepts); tests' stand-in peers accept with blocking
/// `accept`. It owns the path's lifetime:
/// - at start a *stale* socket file (left by a crashed worker: nothing accepts on it) is unlinked; a socket with a
///   live listener fails with `system(call: "bind", errno: EADDRINUSE)`; a non-socket file is never deleted
///   (`invalidSocketPath`);
/// - the socket file gets mode 0600 before `listen`, so no other user can ever connect;
/// - `close()` (or `deinit`) unlinks the path, but only if it is still this listener's socket file.
public final class UnixSocketListener: @unchecked Sendable {
    /// The filesystem path the socket is bound to.
    public let path: String
    private let lock = SocketLock()
    private var fd: Int32            // guarded by lock; -1 once closed or taken
    private var closed = false       // guarded by lock
    private let boundDevice: UInt64
    private let boundInode: UInt64

    /// Binds and listens on `path` (see the type's documentation for stale files and permissions).
    public init(path: String, backlog: Int32 = 64) throws(WireError) {
        let addr = try makeSockaddrUn(path)
        try Self.removeStaleSocket(at: path, addr: addr)

        let fd = try makeUnixStreamSocket()
        func fail(_ call: String) -> WireError {
            let error = systemError(call)
            _ = posixClose(fd)
            return error
        }
        if withSockaddr(addr, { bind(fd, $0, $1) }) != 0 { throw fail("bind(\(path))") }
        if chmod(path, 0o600) != 0 {
            let error = fail("chmod(\(path))")
            _ = unlink(path)
            throw error
        }
        var st = stat()
        if lstat(path, &st) != 0 {
            let error = fail("lstat(\(path))")
            _ = unlink(path)
            throw error
        }
        if listen(fd, backlog) != 0 {
            let error = fail("listen(\(path))")
            _ = unlink(path)
            throw error
        }
        self.path = path
        self.fd = fd
        self.boundDevice = UInt64(st.st_dev)
        self.boundInode = UInt64(st.st_ino)
    }

    deinit {
        close()
    }

    /// The listening descriptor (-1 after `close()`), e.g. for polling several listeners; still owned by this object.
    public var fileDescriptor: Int32 { lock.withLock { fd } }

    /// Waits for the next connection. `timeout` nil = forever; throws `timedOut` when it expires.
    public func accept(timeout: Duration? = nil, maxFrameBytes: Int = 64 << 20) throws(WireError) -> BlockingFrameSocket {
        BlockingFrameSocket(fileDescriptor: try acceptDescriptor(timeout: timeout), maxFrameBytes: maxFrameBytes)
    }

    /// Waits for the next connection and returns its descriptor (close-on-exec, owned by the caller).
    func acceptDescriptor(timeout: Duration?) throws(WireError) -> Int32 {
        let listenFD = fileDescriptor
        guard listenFD >= 0 else { throw .system(call: "accept", errno: EBADF) }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if deadline != nil, try !waitReadable(listenFD, deadline: deadline) { throw .timedOut }
            // accept4(SOCK_CLOEXEC) does not import without _GNU_SOURCE; set the flag right after accept.
            #if canImport(Glibc)
            let client = Glibc.accept(listenFD, nil, nil)
            #elseif canImport(Musl)
            let client = Musl.accept(listenFD, nil, nil)
            #else
            let client = Darwin.accept(listenFD, nil, nil)
            #endif
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                configureNewSocket(client)
                return client
            }
            switch errno {
            case EINTR, EAGAIN, EWOULDBLOCK, ECONNABORTED: continue   // spurious wake-up or client gave up
            default: throw systemError("accept")
            }
        }
    }

    /// Hands the listening descriptor to the caller (an event loop), who closes it; `close()` then only unlinks
    /// the path. -1 if already taken or closed.
    public func takeDescriptor() -> Int32 {
        lock.withLock {
            defer { fd = -1 }
            return fd
        }
    }

    /// Stops listening (unless the descriptor was taken) and unlinks the socket file if it is still ours.
    /// Idempotent. Accepted sockets stay open.
    public func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            var st = stat()
            if lstat(path, &st) == 0, UInt64(st.st_dev) == boundDevice, UInt64(st.st_ino) == boundInode {
                _ = unlink(path)
            }
            if fd >= 0 { _ = posixClose(fd) }
            fd = -1
        }
    }

    /// Unlinks a leftover socket file nobody listens on; refuses to touch live sockets and non-socket files.
    private static func removeStaleSocket(at path: String, addr: sockaddr_un) throws(WireError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return }
            throw systemError("lstat(\(path))")
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw .invalidSocketPath("\(path) exists and is not a socket")
        }
        let probe = try makeUnixStreamSocket()
        defer { _ = posixClose(probe) }
        var r: Int32
        repeat {
            r = withSockaddr(addr) { p, len in
                #if canImport(Glibc)
                Glibc.connect(probe, p, len)
                #elseif canImport(Musl)
                Musl.connect(probe, p, len)
                #else
                Darwin.connect(probe, p, len)
                #endif
            }
        } while r != 0 && errno == EINTR
        if r == 0 { throw .system(call: "bind(\(path)): a listener is alive on this path", errno: EADDRINUSE) }
        guard errno == ECONNREFUSED else { throw systemError("connect(\(path)) probing for a stale socket") }
        if unlink(path) != 0 && errno != ENOENT { throw systemError("unlink(\(path))") }
    }
}
