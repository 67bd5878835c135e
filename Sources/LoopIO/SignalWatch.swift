import CLibUV

/// A libuv signal watcher (`uv_signal_t`) owned by an `EventLoop`.
///
/// It exists so that the gateway can react to SIGINT/SIGTERM (graceful stop) and SIGHUP (reload) on the loop
/// thread instead of in an async-signal context. Loop thread only; closed automatically when the loop shuts down.
public final class SignalWatch: EventLoopResource {
    package let loop: EventLoop
    /// The watched signal number.
    public let signum: Int32
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private var body: ((Int32) -> Void)?
    package private(set) var isClosing = false

    package init(loop: EventLoop, signum: Int32, _ body: @escaping (Int32) -> Void) throws(LoopIOError) {
        self.loop = loop
        self.signum = signum
        self.body = body
        handle = .allocate(capacity: 1)
        let status = uv_signal_init(loop.raw, handle)
        if status < 0 {
            handle.deallocate()
            throw LoopIOError(uvCode: status)
        }
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(self)
        let started = uv_signal_start(handle, { handle, signum in
            let watch = Unmanaged<SignalWatch>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            watch.body?(signum)
        }, signum)
        if started < 0 {
            close()
            throw LoopIOError(uvCode: started)
        }
    }

    /// Stops watching and releases the handle. Idempotent.
    public func cancel() { close() }

    package func close() {
        guard !isClosing else { return }
        isClosing = true
        body = nil
        uv_close(asHandle(handle)) { handle in
            let watch = Unmanaged<SignalWatch>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            watch.handle.deallocate()
            watch.loop.unregister(watch)
        }
    }

    package func closeForShutdown() { close() }
}
