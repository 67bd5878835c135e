import Foundation
import Kernels
import LoopIO
import Logging
import WireProtocol

/// An engine worker process's front: one libuv event loop thread owns every socket (gateway connections, the
/// admin socket, heartbeats), and one engine thread owns the engine. They meet in two places only: the engine's
/// inbox (commands the loop posts) and the loop's `execute` queue (each step's frames, woken with
/// `uv_async_send`). The gateway process is driven the same way.
///
/// - Gateways connect to `socketPath`; each connection is a `GatewayConnection` (at most `maxConnections`;
///   beyond it a connection is refused with `tooManyConnections` and closed).
/// - Every serving connection gets a `StatusReply` every `heartbeatInterval` milliseconds, idle or not, so that
///   a gateway notices a stopped or stalled worker.
/// - A gateway that stops reading is disconnected once `maxPendingWriteBytes` wait for it; its requests are
///   cancelled and the engine never waits.
public final class WorkerServer: AdminTarget, @unchecked Sendable {
    /// Limits and intervals of the worker's sockets.
    public struct Options: Sendable {
        public var maxConnections = 64
        public var heartbeatIntervalMilliseconds: UInt32 = 1000
        public var maxPendingWriteBytes = 8 << 20
        /// A request frame (prompt token ids) is at most this large, compressed or not.
        public var maxFrameBytes = 16 << 20
        /// Stop gracefully on SIGINT and SIGTERM (the worker process; not tests running a server in-process).
        public var stopsOnSignals = false
        /// After a stop signal: how long running and waiting requests may take to finish before the worker stops
        /// anyway (their gateways then see the connection end and fail them).
        public var gracePeriodMilliseconds: UInt64 = 30_000

        public init() {}
    }

    private let engine: Engine
    private let modelID: String
    private let options: Options
    private let log: Logger
    private let loop: EventLoop
    private let socket: UnixSocketListener
    private let admin: AdminServer?
    private let inbox = EngineInbox()
    private let shared: WorkerSharedState
    private let startTime = monotonicSeconds()
    // Loop thread only:
    private var listener: PipeListener?
    private var connections: [ConnectionID: GatewayConnection] = [:]
    private var lastConnectionID: UInt64 = 0
    private var heartbeat: TimerHandle?
    private var signalWatches: [SignalWatch] = []
    private var isStoppingGracefully = false

    /// Why the engine stopped on its own: its tensor-parallel group failed (a rank died or stopped answering).
    /// Every in-flight request was failed with an error frame and `run()` returned; the worker should exit non-zero.
    public var failure: TensorParallelError? { shared.withLock { $0.failure } }

    /// Binds `socketPath` for gateways and, when given, `adminSocketPath` for admin commands (so that a bad or busy
    /// path fails the start).
    public init(engine: Engine, modelID: String, socketPath: String, adminSocketPath: String? = nil, options: Options = Options(),
                log: Logger = Logger(label: "scalellm.worker")) throws {
        self.engine = engine
        self.modelID = modelID
        self.options = options
        self.log = log
        shared = WorkerSharedState(engine: engine.statistics, start: startTime)
        let loop = try EventLoop()
        self.loop = loop
        socket = try UnixSocketListener(path: socketPath)
        admin = try adminSocketPath.map { path throws(WireError) in try AdminServer(path: path, loop: loop) }
    }

    /// Serves until `stop()` (or a stop signal, or a group failure): runs the loop on this thread and the engine on
    /// another. The socket files are gone when it returns.
    public func run() throws {
        let engineThread = EngineThread(engine: engine, inbox: inbox, shared: shared, publish: { [self] outbox in
            loop.execute { [self] in deliver(outbox) }
        }, stopped: { [self] in loop.execute { [self] in stop() } })
        let engineDone = DispatchSemaphore(value: 0)
        let thread = Thread {
            engineThread.run()
            engineDone.signal()
        }
        thread.name = "engine"
        thread.start()
        defer {
            _ = inbox.close()
            engineDone.wait()
            socket.close()
        }
        try startListening()
        loop.run()
    }

    /// Stops accepting, closes connections and ends `run()`. Safe from any thread.
    public func stop() {
        loop.execute { [self] in
            listener?.close()
            admin?.stop()
            socket.close()
            loop.stop()
        }
    }

    /// The latest engine counters (for status replies and the admin socket).
    public var statistics: (engine: EngineStatistics, completed: UInt64) { shared.withLock { ($0.engine, $0.requestsCompleted) } }

    // MARK: Loop thread

    private func startListening() throws {
        let environment = GatewayConnection.Environment(
            helloAck: HelloAck(modelID: modelID, eosTokenIDs: engine.config.eosTokenIDs, acceptsZstd: true,
                               workerPID: UInt32(getpid()), maxSequences: UInt32(engine.configuration.scheduler.capacity),
                               limits: engine.limits, heartbeatIntervalMilliseconds: options.heartbeatIntervalMilliseconds),
            status: { [unowned self] in status() },
            submit: { [unowned self] command in submit(command) },
            maxPendingWriteBytes: options.maxPendingWriteBytes, maxFrameBytes: options.maxFrameBytes, log: log)
        listener = try PipeListener(loop: loop, descriptor: socket.takeDescriptor(), backlog: 64) { [unowned self] stream in
            lastConnectionID += 1
            let connection = GatewayConnection(id: ConnectionID(raw: lastConnectionID), stream: stream, environment: environment) {
                [unowned self] closed in connections[closed.id] = nil
            }
            guard connections.count < options.maxConnections else {
                return connection.refuse(ErrorReply(requestID: 0, code: .tooManyConnections,
                                                    message: "the worker serves at most \(options.maxConnections) gateway connections"))
            }
            connections[connection.id] = connection
            connection.start()
        }
        try admin?.start(serving: self)
        let interval = UInt64(options.heartbeatIntervalMilliseconds)
        heartbeat = loop.scheduleTimer(after: interval, repeat: interval) { [unowned self] in
            let beat = [WireMessage.statusReply(status())]
            for connection in connections.values where connection.isServing { connection.deliver(beat) }
        }
        if options.stopsOnSignals {
            for signum in [SIGINT, SIGTERM] {
                signalWatches.append(try loop.onSignal(signum) { [unowned self] _ in stopGracefully() })
            }
        }
    }

    /// A stop signal: admits nothing new (`draining`), lets running and waiting requests finish (checked every
    /// 50 ms), then stops; after the grace period it stops anyway. Repeated signals change nothing: a group stop
    /// delivers the signal twice (once from the system, once forwarded by `scalellm serve`).
    private func stopGracefully() {
        guard !isStoppingGracefully else { return }
        isStoppingGracefully = true
        shared.withLock { $0.draining = true }
        log.info("stopping: admitting nothing new, waiting up to \(options.gracePeriodMilliseconds) ms for the requests in flight")
        loop.waitForDrain(within: options.gracePeriodMilliseconds,
                          remaining: { [unowned self] in shared.withLock { $0.engine.running + $0.engine.waiting } }) { [unowned self] left in
            if left > 0 { log.warning("stopping: the grace period ended with \(left) requests unfinished") }
            stop()
        }
    }

    /// Posts a command to the engine; nil when posted, else the reply to send instead (the engine has failed).
    private func submit(_ command: EngineCommand) -> ErrorReply? {
        if inbox.post(command) { return nil }
        let failure = shared.withLock { $0.failure }
        return ErrorReply(requestID: 0, code: failure == nil ? .draining : .workerFailed,
                          message: failure.map { "the request failed: \($0.description)" } ?? "the worker is stopping")
    }

    private func deliver(_ outbox: StepOutbox) {
        for (id, _) in outbox.byConnection {
            connections[id]?.deliver(outbox.messages(for: id))
        }
    }

    private func status() -> StatusReply {
        let now = monotonicSeconds()
        return shared.withLock {
            StatusReply(running: UInt32($0.engine.running), waiting: UInt32($0.engine.waiting), kvBlocksUsed: UInt32($0.engine.blocksUsed),
                        kvBlocksTotal: UInt32($0.engine.blocksTotal), requestsCompleted: $0.requestsCompleted,
                        draining: $0.draining, engineSteps: UInt64($0.engine.steps),
                        stepElapsedMilliseconds: $0.stepStartedAt.map { UInt32(clamping: Int(((now - $0) * 1000).rounded(.up))) } ?? 0)
        }
    }

    // MARK: Admin socket

    func adminStatus() -> WorkerStatus {
        let now = monotonicSeconds()
        let (state, steps) = shared.withLock { (schedulerState($0), $0.steps) }
        return WorkerStatus(rank: engine.group?.rank ?? 0, role: .scheduler(state), model: modelID, dtype: engine.model.precision.rawValue,
                            kvCacheDType: engine.cache.layout.dtype.rawValue, tensorParallelSize: engine.group?.size ?? 1,
                            memory: .init(weightBytes: engine.model.weightBytes, kvCacheBytes: engine.cache.bytes,
                                          modelFileBytes: engine.model.checkpointBytes),
                            uptimeSeconds: now - startTime,
                            stepCount: state.engine.steps, tokensComputed: state.engine.tokensComputed, steps: steps, now: now)
    }

    func drain() -> WorkerStatus.SchedulerState {
        shared.withLock {
            $0.draining = true
            return schedulerState($0)
        }
    }

    func shutdown() -> @Sendable () -> Void { { [self] in stop() } }

    private func schedulerState(_ value: WorkerSharedState.Value) -> WorkerStatus.SchedulerState {
        WorkerStatus.SchedulerState(draining: value.draining, engine: value.engine, requestsCompleted: value.requestsCompleted,
                                    blockSize: engine.configuration.blockSize, engineBusySeconds: value.engineBusySeconds)
    }
}
