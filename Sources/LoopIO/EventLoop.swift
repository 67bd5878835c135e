import CLibUV
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libuv event loop and the thread that runs it.
///
/// It exists so that both processes do their I/O the same way: the gateway (HTTP server, worker connections,
/// timers, signals) and the engine worker (gateway connections, admin socket, heartbeats) each drive one
/// single-threaded loop with a small, explicit threading contract:
///
/// - `run()` blocks the calling thread (the *loop thread*) until `stop()` is called; it then closes every handle
///   the loop owns, runs the loop until their close callbacks have fired and calls `uv_loop_close`.
/// - `stop()` and `execute(_:)` are the only methods that may be called from any thread (they use `uv_async_send`).
/// - Everything else, including every object created on this loop (`HTTPServer`, `UnixStreamConnection`,
///   `TimerHandle`, `SignalWatch`, `HTTPResponder`), must be used on the loop thread only, or before `run()`
///   has started.
public final class EventLoop: @unchecked Sendable {
    package let raw: UnsafeMutablePointer<uv_loop_t>
    /// Scratch buffer handed to libuv for every read on this loop; read callbacks copy out of it at once.
    package let readBuffer: UnsafeMutableRawPointer
    package static let readBufferSize = 64 * 1024

    private let wakeup: UnsafeMutablePointer<uv_async_t>
    /// Runs right before each wait for I/O and flushes the streams written to since (see `flushBeforePolling`).
    private let beforePoll: UnsafeMutablePointer<uv_prepare_t>
    /// What other threads share with the loop thread.
    private struct Shared {
        var pending: [@Sendable () -> Void] = []
        var stopRequested = false
        var wakeupClosed = false
        var loopThread: pthread_t?
    }
    private let shared = Mutex(Shared())

    // Loop thread only:
    private enum RunState { case notStarted, running, finished }
    private var runState = RunState.notStarted
    private var resources: [ObjectIdentifier: any EventLoopResource] = [:]
    private var streamsToFlush: [UVStream] = []
    /// `uv_write` calls made so far (tests check that writes are coalesced).
    package var writesIssued = 0
    /// True once shutdown has begun: new handles are closed as soon as they register.
    package private(set) var isShuttingDown = false
    /// After `run()` returns: true when `uv_loop_close` succeeded without having to close stray handles.
    package private(set) var closedCleanly: Bool?

    /// Creates and initialises a libuv loop (not yet running).
    public init() throws(LoopIOError) {
        // libuv writes with write(2), which raises SIGPIPE when the peer has gone; every process that runs a loop
        // wants the EPIPE error instead (as Node.js does), so the disposition is set here once for the process.
        signal(SIGPIPE, SIG_IGN)
        raw = .allocate(capacity: 1)
        wakeup = .allocate(capacity: 1)
        beforePoll = .allocate(capacity: 1)
        readBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
        let status = uv_loop_init(raw)
        if status < 0 {
            raw.deallocate()
            wakeup.deallocate()
            beforePoll.deallocate()
            readBuffer.deallocate()
            throw LoopIOError(uvCode: status)
        }
        raw.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        _ = uv_async_init(raw, wakeup) { handle in
            EventLoop.from(handle!.pointee.loop).drainWakeups()
        }
        wakeup.pointee.data = raw.pointee.data
        // The prepare handle is unreferenced: it never keeps the loop alive by itself.
        _ = uv_prepare_init(raw, beforePoll)
        _ = uv_prepare_start(beforePoll) { handle in
            EventLoop.from(handle!.pointee.loop).flushStreams()
        }
        uv_unref(asHandle(beforePoll))
    }

    deinit {
        if runState == .notStarted {
            // Never ran: only the wake-up handle exists (registered resources retain the loop).
            uv_close(asHandle(wakeup), nil)
            uv_close(asHandle(beforePoll), nil)
            uv_run(raw, UV_RUN_DEFAULT)
            _ = uv_loop_close(raw)
        }
        wakeup.deallocate()
        beforePoll.deallocate()
        readBuffer.deallocate()
        raw.deallocate()
    }

    package static func from(_ loop: UnsafeMutablePointer<uv_loop_t>!) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop.pointee.data).takeUnretainedValue()
    }

    // MARK: Running and stopping

    /// Runs the loop on the calling thread until `stop()`; then closes all handles and the loop. Call once.
    public func run() {
        precondition(runState == .notStarted, "EventLoop.run() may be called once")
        runState = .running
        shared.withLock { $0.loopThread = pthread_self() }
        while true {
            uv_run(raw, UV_RUN_DEFAULT)
            if isShuttingDown { break }
            // uv_run only returns early when nothing is active, which cannot happen while the wake-up handle is
            // open; be defensive and shut down anyway.
            beginShutdown()
        }
        if uv_loop_close(raw) == 0 {
            closedCleanly = true
        } else {
            closedCleanly = false
            uv_walk(raw, { handle, _ in
                if uv_is_closing(handle) == 0 { uv_close(handle, nil) }
            }, nil)
            uv_run(raw, UV_RUN_DEFAULT)
            _ = uv_loop_close(raw)
        }
        runState = .finished
        shared.withLock { $0.loopThread = nil }
    }

    /// Asks the loop to shut down: pending `execute` bodies still run, then all handles close and `run()` returns.
    /// Safe from any thread; a no-op once shutdown has begun.
    public func stop() {
        shared.withLock {
            guard !$0.wakeupClosed else { return }
            $0.stopRequested = true
            uv_async_send(wakeup)
        }
    }

    /// Posts `body` to run on the loop thread. Safe from any thread; posts made before one wake-up is handled are
    /// coalesced into one batch and run in order. Returns false (and drops `body`) once the loop has shut down.
    @discardableResult
    public func execute(_ body: @escaping @Sendable () -> Void) -> Bool {
        shared.withLock {
            guard !$0.wakeupClosed else { return false }
            $0.pending.append(body)
            uv_async_send(wakeup)
            return true
        }
    }

    /// True when called on the thread currently running this loop.
    public var inEventLoop: Bool {
        shared.withLock { $0.loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Debug check for loop-thread-only APIs: allowed on the loop thread, or from anywhere before `run()` starts.
    package func assertOnLoopThread(_ function: StaticString = #function) {
        assert(shared.withLock { $0.loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? true },
               "\(function) must be called on the event loop thread")
    }

    private func drainWakeups() {
        let batch = shared.withLock { shared -> [@Sendable () -> Void] in
            defer { shared.pending.removeAll() }
            return shared.pending
        }
        for body in batch { body() }
        if shared.withLock({ $0.stopRequested }) { beginShutdown() }
    }

    private func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        let leftover = shared.withLock { shared -> [@Sendable () -> Void] in
            shared.wakeupClosed = true
            defer { shared.pending.removeAll() }
            return shared.pending
        }
        for body in leftover { body() }
        uv_close(asHandle(wakeup), nil)
        flushStreams()
        uv_close(asHandle(beforePoll), nil)
        // Closing a resource may close others (a server closes its connections); iterate until none is left open.
        var rounds = 0
        while rounds < 8 {
            let open = resources.values.filter { !$0.isClosing }
            if open.isEmpty { break }
            for resource in open where !resource.isClosing { resource.closeForShutdown() }
            rounds += 1
        }
    }

    // MARK: Coalesced writes

    /// Schedules `stream`'s unflushed bytes to be written when the loop is next about to wait for I/O: every
    /// callback of the current iteration (reads, pool completions, timers, posted closures) can add to them first.
    package func flushBeforePolling(_ stream: UVStream) {
        streamsToFlush.append(stream)
    }

    private func flushStreams() {
        while !streamsToFlush.isEmpty {
            let streams = streamsToFlush
            streamsToFlush.removeAll()
            for stream in streams { stream.flush() }
        }
    }

    // MARK: Resource registry

    /// Registers an open handle owner; the loop keeps it alive until `unregister` (called from its close callback).
    package func register(_ resource: any EventLoopResource) {
        resources[ObjectIdentifier(resource)] = resource
        if isShuttingDown { resource.closeForShutdown() }
    }

    package func unregister(_ resource: any EventLoopResource) {
        resources.removeValue(forKey: ObjectIdentifier(resource))
    }

    /// Number of handle owners still open (0 after a clean shutdown).
    package var openResourceCount: Int { resources.count }

    // MARK: Thread pool, timers, signals

    /// Runs `work` on the libuv thread pool, then `then` with its result on the loop thread. Loop thread only.
    /// Work queued before `stop()` still completes (shutdown waits for it) and `then` still runs.
    public func runOnPool<T: Sendable>(_ work: @escaping @Sendable () -> T, then: @escaping (T) -> Void) {
        assertOnLoopThread()
        let job = TypedPoolJob(work: work, then: then)
        let req = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged<PoolJob>.passRetained(job).toOpaque()
        let status = uv_queue_work(raw, req, { req in
            Unmanaged<PoolJob>.fromOpaque(req!.pointee.data).takeUnretainedValue().perform()
        }, { req, status in
            let job = Unmanaged<PoolJob>.fromOpaque(req!.pointee.data).takeRetainedValue()
            req!.deallocate()
            if status == 0 { job.finish() }
        })
        if status < 0 {
            Unmanaged<PoolJob>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            assertionFailure("uv_queue_work failed: \(LoopIOError(uvCode: status))")
        }
    }

    /// Calls `body` on the loop thread after `milliseconds`, then every `repeatMilliseconds` if that is non-zero.
    /// Loop thread only. The returned handle cancels the timer; a one-shot timer releases itself after firing.
    @discardableResult
    public func scheduleTimer(after milliseconds: UInt64, repeat repeatMilliseconds: UInt64 = 0,
                              _ body: @escaping () -> Void) -> TimerHandle {
        assertOnLoopThread()
        let timer = TimerHandle(loop: self, closesAfterFiring: repeatMilliseconds == 0)
        timer.start(after: milliseconds, repeat: repeatMilliseconds, body)
        return timer
    }

    /// Calls `body(signum)` on the loop thread each time the process receives `signum` (e.g. SIGINT, SIGTERM,
    /// SIGHUP) until the watch is cancelled or the loop shuts down. Loop thread only.
    public func onSignal(_ signum: Int32, _ body: @escaping (Int32) -> Void) throws(LoopIOError) -> SignalWatch {
        assertOnLoopThread()
        return try SignalWatch(loop: self, signum: signum, body)
    }
}

/// An object owning one libuv handle, registered with its loop while the handle is open so that shutdown can
/// close it and so that it stays alive until its close callback.
package protocol EventLoopResource: AnyObject {
    var isClosing: Bool { get }
    func closeForShutdown()
}

/// Type-erased `uv_queue_work` job (the C callbacks cannot be generic).
class PoolJob: @unchecked Sendable {
    func perform() {}
    func finish() {}
}

/// The work closure runs on a pool thread and stores its result; libuv orders that store before the after-work
/// callback on the loop thread, which reads it.
final class TypedPoolJob<T: Sendable>: PoolJob, @unchecked Sendable {
    private let work: @Sendable () -> T
    private let then: (T) -> Void
    private var result: T?

    init(work: @escaping @Sendable () -> T, then: @escaping (T) -> Void) {
        self.work = work
        self.then = then
    }

    override func perform() { result = work() }

    override func finish() {
        if let result { then(result) }
    }
}

/// `uv_xxx_t*` → `uv_handle_t*` (every libuv handle starts with the common handle fields).
@inline(__always)
package func asHandle<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_handle_t.self)
}

/// `uv_xxx_t*` → `uv_stream_t*` for TCP and pipe handles.
@inline(__always)
package func asStream(_ pointer: UnsafeMutableRawPointer) -> UnsafeMutablePointer<uv_stream_t> {
    pointer.assumingMemoryBound(to: uv_stream_t.self)
}
