import LoopIO
import Logging
import WireProtocol

/// What the gateway hears back about one request from the worker.
enum WorkerEvent {
    case tokens(TokenUpdate)
    case failed(OpenAIError)
}

/// The gateway's connection to one engine worker, owned by the event loop thread: connects to the worker's Unix
/// socket, performs the versioned handshake, sends requests and routes token frames back to the exchange that
/// asked. When the worker goes away every in-flight request fails, the gateway reports not ready, and the
/// client keeps reconnecting so a restarted worker is picked up.
///
/// Liveness: the worker sends a status frame every `HelloAck.heartbeatIntervalMilliseconds`. When none has
/// arrived for `stallTimeout`, or the worker has work but its step count has stood still that long (one step may
/// run ten times as long), the worker is *stalled*: `/ready` answers 503 and every in-flight request ends with an error (and is cancelled on the
/// worker, which frees its KV blocks once it runs again). The next heartbeat showing progress ends the stall.
final class WorkerClient {
    private let loop: EventLoop
    private let socketPath: String
    private let stallTimeout: Double
    private let log: Logger
    private var connection: UnixStreamConnection?
    private var decoder = FrameDecoder()
    private var compression = CompressionPolicy.none
    private var handlers: [UInt64: (WorkerEvent) -> Void] = [:]
    private var retryTimer: TimerHandle?
    private var livenessTimer: TimerHandle?
    /// When the last status frame arrived, and when the engine's step count last moved (or the worker was idle).
    /// Heartbeat watch of the connected worker (nil while none is connected).
    private var liveness: WorkerLiveness?
    /// The worker's latest status frame.
    private(set) var lastStatus: StatusReply?
    /// The worker's handshake answer; nil until the connection is ready.
    private(set) var worker: HelloAck?
    /// Why the worker refused this gateway (a protocol version mismatch, say); nil once a handshake succeeds.
    /// Reported by `/ready` and logged once per distinct reason, not on every reconnect attempt.
    private(set) var refusal: String?
    /// Why the connected worker counts as stalled (see the type's notes); nil while it makes progress.
    var stall: String? { liveness?.stall }

    init(loop: EventLoop, socketPath: String, stallTimeoutMilliseconds: UInt64, log: Logger) {
        self.loop = loop
        self.socketPath = socketPath
        self.stallTimeout = Double(stallTimeoutMilliseconds) / 1000
        self.log = log
    }

    var isReady: Bool { worker != nil }

    /// Connected, live and admitting requests: what `/ready` reports (a draining worker is connected but not
    /// serving new requests; its status frame says so within a heartbeat).
    var isServing: Bool { isReady && stall == nil && !(lastStatus?.draining ?? false) }

    /// Why the worker does not take requests now (nil while it serves): what `/ready` and refused requests say.
    var unavailableReason: String? {
        if isServing { return nil }
        if let stall { return "the engine worker is stalled: \(stall)" }
        if isReady { return "the engine worker is draining" }
        return "no engine worker is connected" + (refusal.map { " (it refused this gateway: \($0))" } ?? "")
    }

    /// Called whenever room for new sequences may have appeared — a sequence ended (finished, cancelled or failed),
    /// the worker connected, or it went away (then queued requests fail fast instead of waiting for the timeout).
    var onCapacityChanged: (() -> Void)?

    /// How many sequences the worker holds at most (nil: not connected, or no limit announced).
    var capacity: Int? {
        guard let capacity = worker?.maxSequences, capacity > 0 else { return nil }
        return Int(capacity)
    }

    /// Whether the worker accepts `sequences` more sequences now.
    func hasRoom(for sequences: Int) -> Bool {
        guard let capacity else { return true }
        return handlers.count + sequences <= capacity
    }

    func start() {
        connect()
        let period = max(10, min(1000, UInt64(stallTimeout * 250)))
        livenessTimer = loop.scheduleTimer(after: period, repeat: period) { [weak self] in self?.checkLiveness() }
    }

    /// Sends `request`; `events` receives its token updates and errors on the loop thread until it finishes.
    func submit(_ request: GenerateRequest, events: @escaping (WorkerEvent) -> Void) -> Bool {
        guard isServing, send(.generate(request)) else { return false }
        handlers[request.requestID] = events
        return true
    }

    /// Tells the worker to stop `requestID` and free its KV blocks; no more events are delivered for it.
    func cancel(_ requestID: UInt64) {
        guard handlers.removeValue(forKey: requestID) != nil else { return }
        _ = send(.cancel(Cancel(requestID: requestID)))
        onCapacityChanged?()
    }

    func close() {
        retryTimer?.cancel()
        livenessTimer?.cancel()
        connection?.close()
    }

    // MARK: Connection lifecycle

    private func connect() {
        let connection = UnixStreamConnection()
        self.connection = connection
        decoder = FrameDecoder()
        compression = .none
        connection.onRead = { [weak self] bytes in self?.received(bytes) }
        connection.onClose = { [weak self] error in self?.lost(error.map { "\($0)" } ?? "the worker closed the connection") }
        connection.connect(path: socketPath, on: loop) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success:
                _ = self.send(.hello(Hello(clientName: "scalellm-gateway", acceptsZstd: true)))
            case .failure(let error):
                self.lost("cannot connect to worker at \(self.socketPath): \(error)")
            }
        }
    }

    private func lost(_ reason: String) {
        if worker != nil { log.error("worker connection lost: \(reason)") } else { log.debug("\(reason)") }
        worker = nil
        lastStatus = nil
        liveness = nil
        connection = nil
        failAll(.unavailable("the engine worker went away: \(reason)"), cancelOnWorker: false)
        retryTimer = loop.scheduleTimer(after: 250) { [weak self] in self?.connect() }
    }

    /// Ends every in-flight request with `error` (and cancels them on a worker that is still connected).
    private func failAll(_ error: OpenAIError, cancelOnWorker: Bool) {
        let orphans = handlers
        handlers = [:]
        for (id, handler) in orphans {
            if cancelOnWorker { _ = send(.cancel(Cancel(requestID: id))) }
            handler(.failed(error))
        }
        onCapacityChanged?()
    }

    private func checkLiveness() {
        guard worker != nil, let reason = liveness?.check(at: monotonicSeconds()) else { return }
        log.error("worker stalled: \(reason); failing \(handlers.count) in-flight sequences")
        failAll(.unavailable("the engine worker stalled: \(reason)"), cancelOnWorker: true)
    }

    private func heard(_ status: StatusReply) {
        lastStatus = status
        let wasStalled = stall
        if liveness?.heard(status, at: monotonicSeconds()) == true {
            log.info("worker recovered (was: \(wasStalled ?? ""))")
            onCapacityChanged?()
        }
    }

    private func send(_ message: WireMessage) -> Bool {
        guard let connection else { return false }
        do {
            connection.write(try FrameCodec.encode(message, compression: compression))
            return true
        } catch {
            log.error("cannot encode frame: \(error)")
            return false
        }
    }

    private func received(_ bytes: [UInt8]) {
        decoder.feed(bytes)
        do {
            while let message = try decoder.next() { dispatch(message) }
        } catch {
            log.error("bad frame from worker: \(error)")
            connection?.close()
        }
    }

    private func dispatch(_ message: WireMessage) {
        switch message {
        case .helloAck(let ack):
            do { try checkVersion(ack) } catch {
                log.error("worker refused: \(error)")
                connection?.close()
                return
            }
            compression = .negotiated(peerAcceptsZstd: ack.acceptsZstd)
            worker = ack
            refusal = nil
            liveness = WorkerLiveness(timeout: stallTimeout, since: monotonicSeconds())
            log.info("worker ready: model \(ack.modelID), pid \(ack.workerPID), context \(ack.maxContext)")
            _ = send(.statusRequest)   // the load figures now, rather than at the first heartbeat
            onCapacityChanged?()
        case .tokens(let batch):
            for update in batch.updates {
                guard let handler = handlers[update.requestID] else { continue }
                if update.finishReason.isFinished { handlers[update.requestID] = nil }
                handler(.tokens(update))
                if update.finishReason.isFinished { onCapacityChanged?() }
            }
        case .error(let reply):
            if let handler = handlers.removeValue(forKey: reply.requestID) {
                handler(.failed(OpenAIError(reply)))
                onCapacityChanged?()
            } else if worker == nil {
                let reason = "\(reply.code.name): \(reply.message)"
                if reason != refusal { log.error("the worker refused this gateway: \(reason)") }
                refusal = reason
            } else {
                log.error("worker error: \(reply.code.name): \(reply.message)")
            }
        case .statusReply(let status):
            heard(status)
        case .hello, .generate, .cancel, .statusRequest:
            log.error("unexpected message from worker")
        }
    }
}
