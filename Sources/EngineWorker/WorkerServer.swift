import LoopIO
import Foundation
import Kernels
import WireProtocol

/// An engine worker process's front: listens on a Unix domain socket for gateways, answers the handshake, and
/// feeds requests to the continuous-batching engine. Connection threads only decode frames and post commands;
/// the engine thread applies them between steps, runs steps while there is work, and after each step sends one
/// `TokenBatch` frame per connection carrying the new tokens of all that connection's requests.
///
/// A gateway that stops reading cannot stall the engine: a frame it has not taken within the send timeout shuts
/// its connection down (`BlockingFrameSocket.sendTimeout`), so its connection thread posts `connectionClosed`
/// and its requests are cancelled, freeing their KV blocks, while other connections go on being served.
public final class WorkerServer: AdminTarget, @unchecked Sendable {
    private let engine: Engine
    private let modelID: String
    private let listener: UnixSocketListener
    private let inbox = WorkerInbox()
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: BlockingFrameSocket] = [:]
    private var stopping = false
    /// Engine counters as of the last step, for status replies from connection threads.
    private var published: EngineStatistics
    private var completed: UInt64 = 0
    /// Recent step timings, recorded by the engine thread (for the admin socket's status).
    private var stepStatistics: StepStatistics
    /// Set by the admin `drain` command: new requests are refused, admitted ones finish.
    private var draining = false
    private let startTime = monotonicSeconds()
    private let admin: AdminServer?
    private let sendTimeout: Duration
    private var groupFailure: TensorParallelError?

    /// Why the engine stopped on its own: its tensor-parallel group failed (a rank died or stopped answering).
    /// Every in-flight request was failed with an error frame and `run()` returned; the worker should exit non-zero.
    public var failure: TensorParallelError? { lock.withLock { groupFailure } }

    /// Listens on `socketPath` for gateways and, when `adminSocketPath` is given, on that path for admin commands.
    /// A gateway connection that has not taken a whole frame within `sendTimeout` is dropped (see the type's notes).
    public init(engine: Engine, modelID: String, socketPath: String, adminSocketPath: String? = nil,
                sendTimeout: Duration = .seconds(10)) throws {
        self.engine = engine
        self.modelID = modelID
        self.sendTimeout = sendTimeout
        published = engine.statistics
        stepStatistics = StepStatistics(start: startTime)
        listener = try UnixSocketListener(path: socketPath)
        admin = try adminSocketPath.map { path throws(WireError) in try AdminServer(path: path) }
    }

    /// Serves until `stop()`: accepts connections on this thread, runs the engine on another.
    public func run() {
        let engineThread = Thread { [self] in runEngine() }
        engineThread.name = "engine"
        engineThread.start()
        admin?.start(serving: self)
        while !lock.withLock({ stopping }) {
            guard let connection = try? listener.accept(timeout: .milliseconds(200)) else { continue }
            connection.sendTimeout = sendTimeout
            lock.withLock { connections[ObjectIdentifier(connection)] = connection }
            let reader = Thread { [self] in serve(connection) }
            reader.name = "connection"
            reader.start()
        }
        inbox.close()
        listener.close()
        admin?.stop()
        admin?.waitUntilStopped()   // the admin socket file is gone once run() returns
    }

    /// Stops accepting, closes connections and ends `run()` (safe from any thread, e.g. a signal handler queue).
    public func stop() {
        let open = lock.withLock {
            stopping = true
            return Array(connections.values)
        }
        for connection in open { connection.shutdown() }
        admin?.stop()
    }

    /// The latest engine counters (for status replies and the admin socket).
    public var statistics: (engine: EngineStatistics, completed: UInt64) { lock.withLock { (published, completed) } }

    // MARK: Connection threads

    private func serve(_ connection: BlockingFrameSocket) {
        defer {
            inbox.post(.connectionClosed(connection))
            lock.withLock { _ = connections.removeValue(forKey: ObjectIdentifier(connection)) }
            connection.close()
        }
        while true {
            let message: WireMessage
            do { message = try connection.receive() } catch {
                // A peer that sent a malformed frame gets told why before the connection closes.
                if case .connectionClosed = error {} else {
                    try? connection.send(.error(ErrorReply(requestID: 0, code: "bad_frame", message: error.description)))
                }
                return
            }
            switch message {
            case .hello(let hello):
                do { try checkVersion(hello) } catch {
                    try? connection.send(.error(.versionMismatch(local: WireProtocolVersion.current, remote: hello.protocolVersion)))
                    return
                }
                connection.compression = .negotiated(peerAcceptsZstd: hello.acceptsZstd)
                let c = engine.config
                try? connection.send(.helloAck(HelloAck(
                    modelID: modelID, vocabSize: UInt32(c.vocabSize), maxContext: UInt32(c.maxPositionEmbeddings),
                    eosTokenIDs: c.eosTokenIDs, acceptsZstd: true, workerPID: UInt32(getpid()),
                    maxSequences: UInt32(engine.configuration.scheduler.capacity))))
            case .generate(let request):
                // Posting under the lock orders it against a group failure: either the engine thread's final
                // drain sees the request, or this thread sees the failure and answers it.
                let failure = lock.withLock { () -> TensorParallelError? in
                    if groupFailure == nil { inbox.post(.add(request, from: connection)) }
                    return groupFailure
                }
                if let failure { try? connection.send(.error(Self.failureReply(request.requestID, failure))) }
            case .cancel(let message):
                inbox.post(.cancel(message.requestID, from: connection))
            case .statusRequest:
                let (stats, completed) = statistics
                let isDraining = lock.withLock { draining }
                try? connection.send(.statusReply(StatusReply(
                    running: UInt32(stats.running), waiting: UInt32(stats.waiting), kvBlocksUsed: UInt32(stats.blocksUsed),
                    kvBlocksTotal: UInt32(stats.blocksTotal), requestsCompleted: completed, draining: isDraining)))
            case .helloAck, .tokens, .error, .statusReply:
                try? connection.send(.error(ErrorReply(requestID: 0, code: "unexpected_message",
                                                       message: "a worker does not accept this message")))
            }
        }
    }

    // MARK: Admin socket

    func adminStatus() -> WorkerStatus {
        let now = monotonicSeconds()
        let (state, steps) = lock.withLock { (schedulerState, stepStatistics) }
        return WorkerStatus(rank: engine.group?.rank ?? 0, role: .scheduler(state), model: modelID, dtype: engine.model.precision.rawValue,
                            kvCacheDType: engine.cache.layout.dtype.rawValue, tensorParallelSize: engine.group?.size ?? 1,
                            memory: .init(weightBytes: engine.model.weightBytes, kvCacheBytes: engine.cache.bytes,
                                          modelFileBytes: engine.model.checkpointBytes),
                            uptimeSeconds: now - startTime,
                            stepCount: state.engine.steps, tokensComputed: state.engine.tokensComputed, steps: steps, now: now)
    }

    func drain() -> WorkerStatus.SchedulerState {
        lock.withLock {
            draining = true
            return schedulerState
        }
    }

    func shutdown() -> @Sendable () -> Void { { [self] in stop() } }

    /// The scheduler's side of the status (call under `lock`).
    private var schedulerState: WorkerStatus.SchedulerState {
        WorkerStatus.SchedulerState(draining: draining, engine: published, requestsCompleted: completed,
                                    blockSize: engine.configuration.blockSize)
    }

    // MARK: Engine thread

    /// Who a running engine sequence belongs to: its connection and the request id that connection chose.
    private struct Owner {
        let connection: BlockingFrameSocket
        let wireID: UInt64
    }

    /// Request ids are unique per connection only; the engine needs ids unique in the worker.
    private struct WireKey: Hashable {
        let connection: ObjectIdentifier
        let wireID: UInt64
    }

    private func runEngine() {
        var owners: [UInt64: Owner] = [:]
        var engineIDs: [WireKey: UInt64] = [:]
        var nextEngineID: UInt64 = 1
        while let commands = inbox.take(wait: !engine.hasWork) {
            var updates = OutgoingUpdates()
            let draining = lock.withLock { self.draining }
            for command in commands {
                switch command {
                case .add(let wire, let connection):
                    guard !draining else {
                        try? connection.send(.error(ErrorReply(requestID: wire.requestID, code: "draining",
                                                               message: "the worker is draining: it finishes running requests and admits no new ones")))
                        continue
                    }
                    let key = WireKey(connection: ObjectIdentifier(connection), wireID: wire.requestID)
                    guard engineIDs[key] == nil else {
                        try? connection.send(.error(ErrorReply(requestID: wire.requestID, code: "invalid_request",
                                                               message: "request id \(wire.requestID) is already being served")))
                        continue
                    }
                    let id = nextEngineID
                    nextEngineID += 1
                    do {
                        try engine.add(engineRequest(wire, id: id))
                        owners[id] = Owner(connection: connection, wireID: wire.requestID)
                        engineIDs[key] = id
                    } catch {
                        try? connection.send(.error(ErrorReply(requestID: wire.requestID, code: error.code, message: error.description)))
                    }
                case .cancel(let wireID, let connection):
                    let key = WireKey(connection: ObjectIdentifier(connection), wireID: wireID)
                    guard let id = engineIDs.removeValue(forKey: key), engine.cancel(id) else { continue }
                    owners[id] = nil
                    updates.add(TokenUpdate(requestID: wireID, finishReason: .cancelled), to: connection)
                case .connectionClosed(let connection):
                    for (id, owner) in owners where owner.connection === connection {
                        engine.cancel(id)
                        owners[id] = nil
                        engineIDs[WireKey(connection: ObjectIdentifier(connection), wireID: owner.wireID)] = nil
                    }
                }
            }
            var completedNow: UInt64 = 0, generated = 0
            let began = monotonicSeconds()
            if engine.hasWork {
                let outputs: [SequenceOutput]
                do { outputs = try engine.checkedStep() } catch {
                    failAll(owners, error)
                    return
                }
                generated = outputs.reduce(0) { $0 + $1.tokens.count }
                for output in outputs {
                    guard let owner = owners[output.id] else { continue }
                    let logprobs = output.logprobs.map {
                        TokenLogprob(logprob: $0.logprob ?? 0, topTokenIDs: $0.top.map(\.id), topLogprobs: $0.top.map(\.logprob))
                    }
                    updates.add(TokenUpdate(requestID: owner.wireID, tokenIDs: output.tokens,
                                            finishReason: output.finishReason?.wire ?? .notFinished,
                                            promptTokens: UInt32(output.promptTokens), logprobs: logprobs), to: owner.connection)
                    if output.finishReason != nil {
                        owners[output.id] = nil
                        engineIDs[WireKey(connection: ObjectIdentifier(owner.connection), wireID: owner.wireID)] = nil
                        completedNow += 1
                    }
                }
            }
            let stats = engine.statistics
            let ended = monotonicSeconds()
            lock.withLock {
                if stats.steps > published.steps {
                    stepStatistics.record(end: ended, duration: ended - began, generated: generated,
                                          computed: stats.tokensComputed - published.tokensComputed)
                }
                published = stats
                completed += completedNow
            }
            // A failed send means the gateway is gone or stopped reading (the timed-out socket shut itself down);
            // either way its connection thread posts connectionClosed, which cancels its requests.
            updates.send()
        }
    }

    /// The group failed: every in-flight request gets an error frame, then the server stops (no new work can run).
    private func failAll(_ owners: [UInt64: Owner], _ error: TensorParallelError) {
        lock.withLock { groupFailure = error }
        for owner in owners.values { try? owner.connection.send(.error(Self.failureReply(owner.wireID, error))) }
        // Requests received but not admitted yet fail the same way.
        for case .add(let request, let connection) in inbox.take(wait: false) ?? [] {
            try? connection.send(.error(Self.failureReply(request.requestID, error)))
        }
        stop()
    }

    private static func failureReply(_ requestID: UInt64, _ error: TensorParallelError) -> ErrorReply {
        ErrorReply(requestID: requestID, code: "worker_failed", message: "the request failed: \(error.description)")
    }

    /// The token updates of one step, grouped so that each connection gets a single frame.
    private struct OutgoingUpdates {
        private var byConnection: [ObjectIdentifier: (connection: BlockingFrameSocket, updates: [TokenUpdate])] = [:]

        mutating func add(_ update: TokenUpdate, to connection: BlockingFrameSocket) {
            byConnection[ObjectIdentifier(connection), default: (connection, [])].updates.append(update)
        }

        func send() {
            for (connection, updates) in byConnection.values {
                try? connection.send(.tokens(TokenBatch(updates: updates)))
            }
        }
    }

    private func engineRequest(_ wire: WireProtocol.GenerateRequest, id: UInt64) -> GenerationRequest {
        GenerationRequest(
            id: id, promptTokens: wire.promptTokenIDs, maxTokens: Int(wire.maxTokens),
            sampling: SamplingParameters(temperature: wire.temperature, topK: Int(wire.topK), topP: wire.topP, seed: wire.seed,
                                         presencePenalty: wire.presencePenalty, frequencyPenalty: wire.frequencyPenalty,
                                         topLogprobs: wire.topLogprobs.map { min(Int($0), 20) }),
            stopTokenIDs: Set(wire.stopTokenIDs).union(wire.ignoreEOS ? [] : engine.config.eosTokenIDs))
    }
}

extension FinishReason {
    /// The wire encoding of a finish reason.
    var wire: WireProtocol.FinishReason {
        switch self {
        case .stop: return .stop
        case .length: return .length
        case .cancelled: return .cancelled
        }
    }
}

extension EngineError {
    /// A stable machine-readable code for the error reply (the gateway maps it to an HTTP status).
    public var code: String {
        switch self {
        case .contextExceeded: return "context_length_exceeded"
        case .insufficientKVCache: return "kv_cache_too_small"
        case .invalidMaxTokens: return "invalid_max_tokens"
        case .emptyPrompt, .tokenOutOfRange, .duplicateRequestID: return "invalid_request"
        case .overloaded: return "overloaded"
        }
    }
}

