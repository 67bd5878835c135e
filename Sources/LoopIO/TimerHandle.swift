import CLibUV

/// A libuv timer (`uv_timer_t`) owned by an `EventLoop`.
///
/// It exists so that callers can cancel a scheduled callback (`cancel()`) and so that the HTTP server can re-arm
/// one timer per connection for its idle, header-read and linger timeouts without allocating a handle each time.
/// Loop thread only.
public final class TimerHandle: EventLoopResource {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var body: (() -> Void)?
    private let closesAfterFiring: Bool
    package private(set) var isClosing = false

    package init(loop: EventLoop, closesAfterFiring: Bool) {
        self.loop = loop
        self.closesAfterFiring = closesAfterFiring
        handle = .allocate(capacity: 1)
        uv_timer_init(loop.raw, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(self)
    }

    /// True while the timer is scheduled to fire.
    public var isActive: Bool { !isClosing && uv_is_active(asHandle(handle)) != 0 }

    /// Stops the timer and releases its handle; `body` will not be called again. Idempotent.
    public func cancel() { close() }

    /// (Re)starts the timer; replaces any previous body.
    package func start(after milliseconds: UInt64, repeat repeatMilliseconds: UInt64, _ body: @escaping () -> Void) {
        guard !isClosing else { return }
        self.body = body
        uv_timer_start(handle, { handle in
            Unmanaged<TimerHandle>.fromOpaque(handle!.pointee.data).takeUnretainedValue().fire()
        }, milliseconds, repeatMilliseconds)
    }

    /// Stops the timer but keeps the handle for a later `start`.
    package func stop() {
        guard !isClosing else { return }
        uv_timer_stop(handle)
        body = nil
    }

    private func fire() {
        guard let body else { return }
        let oneShot = uv_timer_get_repeat(handle) == 0
        if oneShot && !closesAfterFiring { self.body = nil }
        body()
        if oneShot && closesAfterFiring { close() }
    }

    package func close() {
        guard !isClosing else { return }
        isClosing = true
        body = nil
        uv_close(asHandle(handle)) { handle in
            let timer = Unmanaged<TimerHandle>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            timer.handle.deallocate()
            timer.loop.unregister(timer)
        }
    }

    package func closeForShutdown() { close() }
}
