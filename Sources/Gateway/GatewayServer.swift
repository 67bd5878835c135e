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

    public init(host: String = "127.0.0.1", port: Int = 8000, workerSocket: String, maxBodyBytes: Int = 1 << 20) {
        self.host = host
        self.port = port
        self.workerSocket = workerSocket
        self.maxBodyBytes = maxBodyBytes
    }
}

/// The OpenAI-compatible front end: one libuv event loop that only moves bytes (HTTP in, frames to the worker,
/// SSE out), with JSON parsing, tokenization and detokenization on the libuv thread pool. All state belongs to
/// the loop thread; only `stop()` may be called from elsewhere (it hops onto the loop).
public final class GatewayServer: @unchecked Sendable {
    private let options: GatewayOptions
    private let tokenizer: Tokenizer
    private let log: Logger
    private let loop: EventLoop
    private let worker: WorkerClient
    private var http: HTTPServer?
    private var nextRequestID: UInt64 = 1
    private var signalWatches: [SignalWatch] = []

    public init(options: GatewayOptions, tokenizer: Tokenizer, log: Logger = Logger(label: "scalellm.gateway")) throws {
        self.options = options
        self.tokenizer = tokenizer
        self.log = log
        loop = try EventLoop()
        worker = WorkerClient(loop: loop, socketPath: options.workerSocket, log: log)
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: Int? { http?.boundPort }

    /// Binds, connects to the worker and runs the loop until SIGINT/SIGTERM or `stop()`.
    public func run() throws {
        var configuration = HTTPServer.Configuration(host: options.host, port: options.port)
        configuration.maxBodyBytes = options.maxBodyBytes
        let server = HTTPServer(loop: loop, configuration: configuration) { [unowned self] request, responder in
            route(request, responder)
        }
        try server.start()
        http = server
        for signum in [SIGINT, SIGTERM] {
            signalWatches.append(try loop.onSignal(signum) { [unowned self] _ in stop() })
        }
        worker.start()
        log.info("listening on http://\(options.host):\(server.boundPort)")
        loop.run()
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

    private func route(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch (request.method, request.path) {
        case ("GET", "/health"):
            respondJSON(responder, 200, Array(#"{"status":"ok"}"#.utf8))
        case ("GET", "/v1/models"):
            models(responder)
        case ("POST", "/v1/completions"):
            completions(request, responder)
        case (_, "/health"), (_, "/v1/models"), (_, "/v1/completions"):
            respondError(responder, OpenAIError(status: 405, message: "method \(request.method) is not allowed on \(request.path)"))
        default:
            respondError(responder, OpenAIError(status: 404, message: "no route for \(request.method) \(request.path)", code: "not_found"))
        }
    }

    private func models(_ responder: HTTPResponder) {
        guard let ack = worker.worker else { return respondError(responder, .unavailable("no engine worker is connected yet")) }
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
        respondJSON(responder, 200, w.bytes)
    }

    private func completions(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let tokenizer = self.tokenizer
        let body = request.body
        loop.runOnPool({ () -> Result<(CompletionRequest, [Int32]), OpenAIError> in
            do throws(OpenAIError) {
                let parsed = try CompletionRequest(json: body)
                switch parsed.prompt {
                case .text(let text): return .success((parsed, tokenizer.encode(text)))
                case .tokens(let ids): return .success((parsed, ids))
                }
            } catch {
                return .failure(error)
            }
        }, then: { [self] result in
            switch result {
            case .failure(let error): respondError(responder, error)
            case .success(let (parsed, promptTokens)): submit(parsed, promptTokens, responder)
            }
        })
    }

    private func submit(_ request: CompletionRequest, _ promptTokens: [Int32], _ responder: HTTPResponder) {
        guard !responder.isClosed else { return }
        guard let ack = worker.worker else { return respondError(responder, .unavailable("no engine worker is connected")) }
        if let model = request.model, model != ack.modelID {
            return respondError(responder, OpenAIError(status: 404, message: "the model '\(model)' does not exist; this server serves '\(ack.modelID)'",
                                                       param: "model", code: "model_not_found"))
        }
        guard !promptTokens.isEmpty else { return respondError(responder, .invalid("the prompt is empty", param: "prompt")) }
        if let bad = promptTokens.first(where: { $0 < 0 || UInt32($0) >= ack.vocabSize }) {
            return respondError(responder, .invalid("token id \(bad) is outside the vocabulary (0..<\(ack.vocabSize))", param: "prompt"))
        }
        guard promptTokens.count + request.maxTokens <= Int(ack.maxContext) else {
            return respondError(responder, .invalid(
                "this model's maximum context length is \(ack.maxContext) tokens; the prompt has \(promptTokens.count) tokens and max_tokens is \(request.maxTokens)",
                param: "max_tokens", code: "context_length_exceeded"))
        }
        let id = nextRequestID
        nextRequestID += 1
        let identity = CompletionExchange.Identity(
            completionID: "cmpl-\(String(id, radix: 16))\(String(UInt32.random(in: .min ... .max), radix: 16))",
            created: Int(Date().timeIntervalSince1970), model: ack.modelID, stream: request.stream,
            includeUsage: request.includeUsage, promptTokens: promptTokens.count)
        let exchange = CompletionExchange(requestID: id, identity: identity, tokenizer: tokenizer, promptTokens: promptTokens,
                                          stop: request.stop, loop: loop, responder: responder,
                                          cancelOnWorker: { [weak worker] in worker?.cancel(id) })
        let wire = GenerateRequest(requestID: id, promptTokenIDs: promptTokens, maxTokens: UInt32(request.maxTokens),
                                   temperature: request.temperature, topP: request.topP, topK: Int32(request.topK),
                                   seed: request.seed, stopTokenIDs: [], ignoreEOS: request.ignoreEOS)
        guard worker.submit(wire, events: { exchange.handle($0) }) else {
            return exchange.fail(.unavailable("the engine worker is not reachable"))
        }
        // A client that goes away cancels its request so the worker frees its KV blocks at once.
        responder.onClose = { [weak worker] in
            if !exchange.isDone { worker?.cancel(id) }
        }
    }

    private func respondJSON(_ responder: HTTPResponder, _ status: Int, _ body: [UInt8]) {
        responder.respond(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    private func respondError(_ responder: HTTPResponder, _ error: OpenAIError) {
        respondJSON(responder, error.status, error.body)
    }
}
