#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The descriptor of a connected socket that one thread sends on while another receives: a send lock, a receive
/// lock, and a descriptor that is closed exactly once (under both locks, so neither side uses a reused number).
/// `BlockingFrameSocket` and `BlockingLineSocket` share it for their lifecycle.
final class SocketHandle: @unchecked Sendable {
    let sendLock = SocketLock()
    let receiveLock = SocketLock()
    /// -1 once closed. Written only by `close()`, under both locks; read under either.
    private(set) var fd: Int32

    /// Takes ownership of `fileDescriptor`.
    init(_ fileDescriptor: Int32) { fd = fileDescriptor }

    deinit {
        if fd >= 0 { _ = posixClose(fd) }
    }

    /// The descriptor as the sending side sees it.
    var current: Int32 { sendLock.withLock { fd } }

    /// Shuts both directions down without closing the descriptor: wakes a blocked read, makes sends fail.
    func shutdown() {
        let descriptor = current
        if descriptor >= 0 { _ = posixShutdown(descriptor) }
    }

    /// Shuts down and closes the descriptor. Idempotent.
    func close() {
        shutdown()
        sendLock.withLock {
            receiveLock.withLock {
                if fd >= 0 { _ = posixClose(fd) }
                fd = -1
            }
        }
    }
}
