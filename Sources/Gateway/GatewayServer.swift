import LoopIO
import ChatTemplates
import Foundation
import Logging
import Tokenizers
import WireProtocol

/// Settings of the gateway process.
public struct GatewayOptions: Sendable {
    public var host: String
    public var port: Int
    public var workerSocket: String
    public var maxBodyBytes: Int
    /// File of API keys (one per line); nil serves without authentication.
    public var apiKeysPath: String?
    /// Whether `/metrics` needs a key too (it is open by default, like `/health`).
    public var metricsRequireKey: Bool
    public var maxConnections: Int
    public var idleTimeoutMilliseconds: UInt64
    public var headerTimeoutMilliseconds: UInt64
    /// How long a request may wait for room in the worker before 503.
    public var queueTimeoutMilliseconds: UInt64
    /// How long the worker may send no heartbeat, or make no progress with work to do, before it counts as
    /// stalled (`/ready` 503, in-flight requests end with an error).
    public var workerStallTimeoutMilliseconds: UInt64
    /// On SIGTERM/SIGINT: how long requests being answered may take to finish before the gateway closes anyway.
    public var gracePeriodMilliseconds: UInt64

    public init(host: String = "127.0.0.1", port: Int = 8000, workerSocket: String, maxBodyBytes: Int = 1 << 20,
                apiKeysPath: String? = nil, metricsRequireKey: Bool = false, maxConnections: Int = 1024,
                idleTimeoutMilliseconds: UInt64 = 60_000, headerTimeoutMilliseconds: UInt64 = 10_000,
                queueTimeoutMilliseconds: UInt64 = 30_000, workerStallTimeoutMilliseconds: UInt64 = 10_000,
                gracePeriodMilliseconds: UInt64 = 30_000) {
        self.gracePeriodMilliseconds = gracePeriodMilliseconds
        self.queueTimeoutMilliseconds = queueTimeoutMilliseconds
        self.workerStallTimeoutMilliseconds = workerStallTimeoutMilliseconds
        self.host = host
        self.port = port
        self.workerSocket = workerSocket
        self.maxBodyBytes = maxBodyBytes
        self.apiKeysPath = apiKeysPath
        self.metricsRequireKey = metricsRequireKey
        self.maxConnections = maxConnections
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
    }
}

/// The OpenAI-compatible front end: one libuv event loop that only moves bytes (HTTP in, frames to the worker,
/// SSE out), with JSON parsing, tokenization and detokenization on the libuv thread pool. All state belongs to
/// the loop thread; only `stop()` may be called from elsewhere (it hops onto the loop).
public final class GatewayServer: @unchecked Sendable {
    private let options: GatewayOptions
    private let tokenizer: Tokenizer
    private let chat: ChatTemplateConfiguration
    private let log: Logger
    private let loop: EventLoop
    private let worker: WorkerClient
    private var http: HTTPServer?
    private var nextRequestID = RequestIDCounter()
    private var signalWatches: [SignalWatch] = []
    private var apiKeys: APIKeyStore?
    private let metrics = GatewayMetrics()
    private let admissions: AdmissionQueue
    private let requestLog: RequestLog
    /// A graceful stop is under way: new requests are answered 503.
    private var draining = false

    /// - Parameter chat: the model's chat template and special tokens (`ChatTemplateConfiguration.load(checkpoint:tokenizer:)`).
    public init(options: GatewayOptions, tokenizer: Tokenizer, chat: ChatTemplateConfiguration,
                log: Logger = Logger(label: "scalellm.gateway")) throws {
        self.options = options
        self.tokenizer = tokenizer
        self.chat = chat
        self.log = log
        requestLog = RequestLog(log: log)
        loop = try EventLoop()
        let worker = WorkerClient(loop: loop, socketPath: options.workerSocket,
                                  stallTimeoutMilliseconds: options.workerStallTimeoutMilliseconds, log: log)
        self.worker = worker
        admissions = AdmissionQueue(loop: loop, timeoutMilliseconds: options.queueTimeoutMilliseconds,
                                    hasRoom: { [unowned worker] in worker.hasRoom(for: $0) })
        if let path = options.apiKeysPath { apiKeys = try APIKeyStore(path: path) }
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: Int? { http?.boundPort }

    /// Binds, connects to the worker and runs the loop until SIGINT/SIGTERM or `stop()`.
    public func run() throws {
        var configuration = HTTPServer.Configuration(host: options.host, port: options.port)
        configuration.maxBodyBytes = options.maxBodyBytes
        configuration.maxConnections = options.maxConnections
        configuration.idleTimeoutMs = options.idleTimeoutMilliseconds
        configuration.headerReadTimeoutMs = options.headerTimeoutMilliseconds
        let server = HTTPServer(loop: loop, configuration: configuration) { [unowned self] request, responder in
            route(request, responder)
        }
        server.onServerError = { [metrics] status in metrics.answered("other", status: status) }
        try server.start()
        http = server
        for signum in [SIGINT, SIGTERM] {
            signalWatches.append(try loop.onSignal(signum) { [unowned self] _ in stopGracefully() })
        }
        signalWatches.append(try loop.onSignal(SIGHUP) { [unowned self] _ in reloadAPIKeys() })
        if let apiKeys { log.info("API keys required (\(apiKeys.count) loaded from \(apiKeys.path))") }
        worker.onCapacityChanged = { [unowned self] in admissions.drain() }
        worker.start()
        log.info("listening on http://\(options.host):\(server.boundPort)")
        loop.run()
    }

    /// SIGTERM/SIGINT: stops accepting connections, answers new requests on open ones with 503, lets the requests
    /// being answered finish (checked every 50 ms), then stops; after the grace period it stops anyway (unfinished
    /// streams then end when their connections close). Repeated signals change nothing: a group stop delivers the
    /// signal twice (once from the system, once forwarded by `scalellm serve`).
    private func stopGracefully() {
        guard !draining else { return }
        guard let http else { return stop() }
        draining = true
        http.stopAccepting()
        log.info("stopping: waiting up to \(options.gracePeriodMilliseconds) ms for \(http.respondingConnectionCount) requests to finish")
        loop.waitForDrain(within: options.gracePeriodMilliseconds, remaining: { http.respondingConnectionCount }) { [unowned self] left in
            if left == 0 { log.info("stopping: every request finished") }
            else { log.warning("stopping: the grace period ended with \(left) requests unfinished") }
            stop()
        }
    }

    /// Stops accepting and ends `run()`. Safe from any thread.
    public func stop() {
        _ = loop.execute { [self] in
            http?.close()
            worker.close()
            signalWatches.forEach { $0.cancel() }
            loop.stop()
        }
    }

    // MARK: Routing (loop thread)

    /// Endpoints as metric labels (anything else counts as "other", so scanners cannot grow the label set).
    private static let endpoints: Set<String> = ["/health", "/ready", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions"]

    private func route(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let endpoint = Self.endpoints.contains(request.path) ? request.path : "other"
        let reply = Reply(responder: responder, endpoint: endpoint, metrics: metrics, requestLog: requestLog, arrival: monotonicSeconds())
        if draining && endpoint != "/health" {
            return reply.error(.unavailable("the server is shutting down"))
        }
        guard isAuthorized(request, endpoint) else {
            return reply.error(OpenAIError(status: 401, message: "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
                                           code: "invalid_api_key"))
        }
        switch (request.method, request.path) {
        case ("GET", "/health"):
            reply.json(200, Array(#"{"status":"ok"}"#.utf8))
        case ("GET", "/ready"):
            if let reason = worker.unavailableReason { reply.error(.unavailable(reason)) }
            else { reply.json(200, Array(#"{"status":"ready"}"#.utf8)) }
        case ("GET", "/metrics"):
            let text = metrics.render(worker: worker.lastStatus, ready: worker.isServing)
            reply.send(200, contentType: "text/plain; version=0.0.4; charset=utf-8", Array(text.utf8))
        case ("GET", "/v1/models"):
            models(reply)
        case ("POST", "/v1/completions"):
            completions(request, reply)
        case ("POST", "/v1/chat/completions"):
            chatCompletions(request, reply)
        case (_, let path) where Self.endpoints.contains(path):
            reply.error(OpenAIError(status: 405, message: "method \(request.method) is not allowed on \(request.path)"))
        default:
            reply.error(OpenAIError(status: 404, message: "no route for \(request.method) \(request.path)", code: "not_found"))
        }
    }

    /// `/health` and `/ready` are always open (load balancers and Kubernetes probe them without a key); `/metrics`
    /// unless `--metrics-require-key`; everything else needs a key when keys are configured.
    private func isAuthorized(_ request: HTTPRequest, _ endpoint: String) -> Bool {
        guard let apiKeys, endpoint != "/health", endpoint != "/ready", endpoint != "/metrics" || options.metricsRequireKey else { return true }
        return apiKeys.authorizes(request.headers["Authorization"])
    }

    private func reloadAPIKeys() {
        guard let current = apiKeys else { return }
        loop.runOnPool({ () -> Result<APIKeyStore, Error> in
            Result {
                var keys = current
                try keys.reload()
                return keys
            }
        }, then: { [self] result in
            switch result {
            case .success(let reloaded):
                apiKeys = reloaded
                log.info("reloaded \(reloaded.count) API keys")
            case .failure(let error):
                log.error("keeping the old API keys: \(error)")
            }
        })
    }

    private func models(_ reply: Reply) {
        guard let ack = worker.worker else { return reply.error(.unavailable("no engine worker is connected yet")) }
        var w = JSONWriter()
        w.object {
            $0.field("object", "list")
            $0.field("data") {
                $0.array {
                    $0.object {
                        $0.field("id", ack.modelID)
                        $0.field("object", "model")
                        $0.field("created", 0)
                        $0.field("owned_by", "scalellm")
                        $0.field("max_model_len", Int(ack.maxContext))
                    }
                }
            }
        }
        reply.json(200, w.bytes)
    }

    private func completions(_ request: HTTPRequest, _ reply: Reply) {
        let arrival = monotonicSeconds()
        let tokenizer = self.tokenizer
        let body = request.body
        prepare(reply, arrival: arrival) { () throws(OpenAIError) -> PreparedGeneration in
            let parsed = try CompletionRequest(json: body)
            let tokens: [Int32]
            switch parsed.prompt {
            case .text(let text): tokens = tokenizer.encode(text)
            case .tokens(let ids): tokens = ids
            }
            return PreparedGeneration(kind: .completion, parameters: parsed.parameters, topLogprobs: parsed.topLogprobs, promptTokens: tokens)
        }
    }

    private func chatCompletions(_ request: HTTPRequest, _ reply: Reply) {
        let arrival = monotonicSeconds()
        let tokenizer = self.tokenizer, chat = self.chat
        let body = request.body
        prepare(reply, arrival: arrival) { () throws(OpenAIError) -> PreparedGeneration in
            let parsed = try ChatRequest(json: body)
            let prompt: String
            do throws(ChatTemplateError) {
                prompt = try (chat.template ?? .fallback).render(
                    messages: parsed.messages, addGenerationPrompt: parsed.addGenerationPrompt, bosToken: chat.bosToken,
                    eosToken: chat.eosToken, extra: parsed.tools.map { ["tools": $0] } ?? [:])
            } catch {
                switch error {
                case .raised(let message):
                    throw .invalid("the model's chat template rejected the conversation: \(message)", param: "messages")
                case .runtime, .limitExceeded:
                    // Rendering depends on the client's messages (a content shape the template does not expect,
                    // a conversation too large to render): the request is what has to change.
                    throw .invalid("the model's chat template cannot render this conversation: \(error)", param: "messages")
                case .syntax, .invalidConfig:
                    throw .internal("the model's chat template failed: \(error)")
                }
            }
            // The template writes the special tokens itself (as transformers' apply_chat_template does).
            let tokens = tokenizer.encode(prompt, addSpecialTokens: false)
            return PreparedGeneration(kind: .chat, parameters: parsed.parameters, topLogprobs: parsed.topLogprobs, promptTokens: tokens)
        }
    }

    /// A request parsed, validated and tokenized on the pool, ready for the worker.
    struct PreparedGeneration: Sendable {
        let kind: ResponseKind
        var parameters: GenerationParameters
        let topLogprobs: Int?
        let promptTokens: [Int32]
    }

    /// Runs `work` (parsing, template rendering, tokenization) on the thread pool, then submits on the loop.
    private func prepare(_ reply: Reply, arrival: Double, _ work: @escaping @Sendable () throws(OpenAIError) -> PreparedGeneration) {
        loop.runOnPool({ () -> Result<PreparedGeneration, OpenAIError> in
            do throws(OpenAIError) { return .success(try work()) } catch { return .failure(error) }
        }, then: { [self] result in
            switch result {
            case .failure(let error): reply.error(error)
            case .success(let prepared): submit(prepared, arrival: arrival, reply)
            }
        })
    }

    private func submit(_ request: PreparedGeneration, arrival: Double, _ reply: Reply) {
        let responder = reply.responder
        guard !responder.isClosed else { return }
        guard let ack = worker.worker else { return reply.error(.unavailable("no engine worker is connected")) }
        let parameters = request.parameters, promptTokens = request.promptTokens
        if let model = parameters.model, model != ack.modelID {
            return reply.error(OpenAIError(status: 404, message: "the model '\(model)' does not exist; this server serves '\(ack.modelID)'",
                                           param: "model", code: "model_not_found"))
        }
        var request = request
        do throws(OpenAIError) {
            request.parameters.maxTokens = try parameters.maxTokens(afterPrompt: promptTokens.count, contextLength: Int(ack.maxContext))
        } catch {
            return reply.error(error)
        }
        // The worker's own rules, as it announced them: the same answer it would give, without the round trip.
        do throws(RequestRejection) {
            try ack.limits.check(promptTokens: promptTokens, maxTokens: request.parameters.maxTokens)
            try ack.limits.checkSampling(temperature: parameters.temperature, topP: parameters.topP, topK: parameters.topK,
                                         presencePenalty: parameters.presencePenalty, frequencyPenalty: parameters.frequencyPenalty,
                                         topLogprobs: request.topLogprobs)
        } catch {
            return reply.error(OpenAIError(error))
        }
        if let capacity = worker.capacity, parameters.n > capacity {
            return reply.error(.invalid("n is \(parameters.n) but the engine worker runs at most \(capacity) sequences at once",
                                        param: "n"))
        }
        let queued = admissions.admit(sequences: parameters.n, start: { [self] in
            start(request, arrival: arrival, reply)
        }, timedOut: {
            reply.error(OpenAIError(status: 503, message: "the server is at capacity; retry later", type: "service_unavailable",
                                    code: "overloaded"))
        })
        if let queued {
            responder.onClose = { [weak admissions] in
                reply.record(status: GatewayMetrics.clientClosedRequest)
                admissions?.withdraw(queued)
            }
        }
    }

    /// Sends an admitted request's sequences to the worker.
    private func start(_ request: PreparedGeneration, arrival: Double, _ reply: Reply) {
        let responder = reply.responder
        guard !responder.isClosed else { return }
        guard let ack = worker.worker else { return reply.error(.unavailable("no engine worker is connected")) }
        let parameters = request.parameters, promptTokens = request.promptTokens
        let ids = (0..<parameters.n).map { _ in nextRequestID.advance() }
        let identity = ResponseIdentity(
            id: (request.kind == .chat ? "chatcmpl-" : "cmpl-") + String(ids[0], radix: 16) + String(UInt32.random(in: .min ... .max), radix: 16),
            created: Int(Date().timeIntervalSince1970), model: ack.modelID, kind: request.kind, stream: parameters.stream,
            includeUsage: parameters.includeUsage, topLogprobs: request.topLogprobs, promptTokens: promptTokens.count,
            arrival: arrival, endpoint: reply.endpoint)
        let exchange = GenerationExchange(identity: identity, requestIDs: ids, tokenizer: tokenizer, promptTokens: promptTokens,
                                          stop: parameters.stop, loop: loop, responder: responder, metrics: metrics,
                                          requestLog: requestLog, cancelOnWorker: { [weak worker] id in worker?.cancel(id) })
        for (index, id) in ids.enumerated() {
            // Choices differ through their seeds: the request's seed plus the choice index, when one was given.
            let wire = GenerateRequest(requestID: id, promptTokenIDs: promptTokens, maxTokens: UInt32(parameters.maxTokens),
                                       temperature: parameters.temperature, topP: parameters.topP, topK: Int32(parameters.topK),
                                       seed: parameters.seed.map { $0 &+ UInt64(index) }, stopTokenIDs: [], ignoreEOS: parameters.ignoreEOS,
                                       presencePenalty: parameters.presencePenalty, frequencyPenalty: parameters.frequencyPenalty,
                                       topLogprobs: request.topLogprobs.map { UInt32($0) })
            guard worker.submit(wire, events: { exchange.handle($0, requestID: id) }) else {
                return exchange.fail(.unavailable(worker.unavailableReason ?? "the engine worker is not reachable"))
            }
        }
        metrics.queued(for: monotonicSeconds() - arrival)
        exchange.queueSeconds = monotonicSeconds() - arrival
        // A client that goes away cancels its request so the worker frees its KV blocks at once; it is counted
        // with nginx's status for a client that closed the request.
        responder.onClose = { exchange.clientDisconnected() }
    }

    /// Answers one HTTP request and counts the answer in the metrics.
    /// Answers one HTTP request and counts the answer in the metrics and the request log (a generation that
    /// reaches the worker is answered, counted and logged by its `GenerationExchange` instead).
    private struct Reply {
        let responder: HTTPResponder
        let endpoint: String
        let metrics: GatewayMetrics
        let requestLog: RequestLog
        let arrival: Double

        func send(_ status: Int, contentType: String, _ body: [UInt8]) {
            record(status: status)
            responder.respond(status: status, headers: [("Content-Type", contentType)], body: body)
        }

        func json(_ status: Int, _ body: [UInt8]) { send(status, contentType: "application/json", body) }

        func error(_ error: OpenAIError) {
            record(status: error.status)
            responder.respond(status: error.status, headers: error.headers, body: error.body)
        }

        func record(status: Int) {
            metrics.answered(endpoint, status: status)
            requestLog.record(.init(endpoint: endpoint, status: status, totalSeconds: monotonicSeconds() - arrival))
        }
    }
}

/// Request ids for the worker: unique per gateway connection, never 0 (0 means "connection-level" on the wire).
struct RequestIDCounter {
    private var next: UInt64 = 1
    mutating func advance() -> UInt64 {
        defer { next += 1 }
        return next
    }
}
