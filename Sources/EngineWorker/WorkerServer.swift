import Foundation
import Kernels
import WireProtocol

/// An engine worker process's front: listens on a Unix domain socket for gateways, answers the handshake,
/// queues generation requests for the engine thread and streams tokens back as they are produced. This version
/// runs one request at a time in arrival order; cancel frames drop a waiting request or stop a running one at
/// its next token, and a gateway that disconnects has all its requests cancelled.
public final class WorkerServer: @unchecked Sendable {
    /// A request together with the connection its tokens go back to.
    struct Job: Sendable {
        let request: WireProtocol.GenerateRequest
        let connection: BlockingFrameSocket
    }

    private let engine: Engine
    private let modelID: String
    private let listener: UnixSocketListener
    private let queue = RequestQueue<Job>()
    private let lock = NSLock()
    private var cancelled: Set<UInt64> = []
    /// The request the engine thread is running, and where its tokens go.
    private var running: (id: UInt64, connection: BlockingFrameSocket)?
    private var completed: UInt64 = 0
    private var connections: [ObjectIdentifier: BlockingFrameSocket] = [:]
    private var stopping = false

    public init(engine: Engine, modelID: String, socketPath: String) throws {
        self.engine = engine
        self.modelID = modelID
        listener = try UnixSocketListener(path: socketPath)
    }

    /// Serves until `stop()`: accepts connections on this thread, runs the engine on another.
    public func run() {
        let engineThread = Thread { [self] in runEngine() }
        engineThread.name = "engine"
        engineThread.start()
        while !lock.withLock({ stopping }) {
            guard let connection = try? listener.accept(timeout: .milliseconds(200)) else { continue }
            lock.withLock { connections[ObjectIdentifier(connection)] = connection }
            let reader = Thread { [self] in serve(connection) }
            reader.name = "connection"
            reader.start()
        }
        queue.close()
        listener.close()
    }

    /// Stops accepting, closes connections and ends `run()` (safe from any thread, e.g. a signal handler queue).
    public func stop() {
        let open = lock.withLock {
            stopping = true
            return Array(connections.values)
        }
        for connection in open { connection.shutdown() }
    }

    // MARK: Connection threads

    private func serve(_ connection: BlockingFrameSocket) {
        defer {
            cancelAll(of: connection)
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
                    eosTokenIDs: c.eosTokenIDs, acceptsZstd: true, workerPID: UInt32(getpid()))))
            case .generate(let request):
                queue.push(id: request.requestID, Job(request: request, connection: connection))
            case .cancel(let message):
                cancel(requestID: message.requestID)
            case .statusRequest:
                try? connection.send(.statusReply(status()))
            case .helloAck, .tokens, .error, .statusReply:
                try? connection.send(.error(ErrorReply(requestID: 0, code: "unexpected_message",
                                                       message: "a worker does not accept this message")))
            }
        }
    }

    private func cancel(requestID: UInt64) {
        let waiting = queue.remove { id, _ in id == requestID }
        for (id, job) in waiting { finish(id, job.connection, .cancelled) }
        lock.withLock { if running?.id == requestID { cancelled.insert(requestID) } }
    }

    private func cancelAll(of connection: BlockingFrameSocket) {
        _ = queue.remove { _, job in job.connection === connection }
        lock.withLock { if let running, running.connection === connection { cancelled.insert(running.id) } }
    }

    private func status() -> StatusReply {
        let waiting = UInt32(queue.count)
        return lock.withLock {
            StatusReply(running: running == nil ? 0 : 1, waiting: waiting,
                        kvBlocksUsed: UInt32(engine.cache.blockCount - engine.freeBlocks),
                        kvBlocksTotal: UInt32(engine.cache.blockCount), requestsCompleted: completed)
        }
    }

    // MARK: Engine thread

    private func runEngine() {
        while let (id, job) = queue.pop() {
            lock.withLock { running = (id, job.connection) }
            run(job)
            lock.withLock {
                running = nil
                cancelled.remove(id)
                completed += 1
            }
        }
    }

    private func run(_ job: Job) {
        let wire = job.request
        let id = wire.requestID
        let request = GenerationRequest(
            id: id, promptTokens: wire.promptTokenIDs, maxTokens: Int(wire.maxTokens),
            sampling: SamplingParameters(temperature: wire.temperature, topK: Int(wire.topK), topP: wire.topP, seed: wire.seed),
            stopTokenIDs: Set(wire.stopTokenIDs).union(wire.ignoreEOS ? [] : engine.config.eosTokenIDs))
        do {
            let reason = try engine.generate(request) { token in
                let update = TokenUpdate(requestID: id, tokenIDs: [token], promptTokens: UInt32(request.promptTokens.count))
                guard (try? job.connection.send(.tokens(TokenBatch(updates: [update])))) != nil else { return false }
                return !lock.withLock { cancelled.contains(id) }
            }
            finish(id, job.connection, reason.wire, promptTokens: request.promptTokens.count)
        } catch {
            try? job.connection.send(.error(ErrorReply(requestID: id, code: error.code, message: error.description)))
        }
    }

    private func finish(_ id: UInt64, _ connection: BlockingFrameSocket, _ reason: WireProtocol.FinishReason, promptTokens: Int = 0) {
        let update = TokenUpdate(requestID: id, finishReason: reason, promptTokens: UInt32(promptTokens))
        try? connection.send(.tokens(TokenBatch(updates: [update])))
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
        case .emptyPrompt, .tokenOutOfRange: return "invalid_request"
        }
    }
}
