import Foundation
import Tokenizers
import WireProtocol

/// One `/v1/completions` request from the moment it reaches the worker until its response is complete.
/// Token updates arrive on the loop thread; turning tokens into text and text into JSON happens on the thread
/// pool, one job at a time per request so the detokenizer sees tokens in order. Tokens that arrive while a job
/// runs are coalesced into the next job, so a busy gateway writes fewer, larger chunks.
final class CompletionExchange {
    /// The detokenizer and stop-string matcher, touched only by this exchange's (serialised) pool jobs.
    private final class TextState: @unchecked Sendable {
        var detokenizer: IncrementalDetokenizer
        var stops: StopStringMatcher
        init(_ detokenizer: IncrementalDetokenizer, stops: StopStringMatcher) {
            self.detokenizer = detokenizer
            self.stops = stops
        }

        /// The text to emit for `tokens` (and the end of generation when `final`), and whether a stop string ended it.
        func render(_ tokens: [Int32], final: Bool) -> (text: String, stopped: Bool) {
            var text = stops.feed(detokenizer.append(tokens))
            if final && !stops.stopped { text += stops.feed(detokenizer.finish()) + stops.flush() }
            return (text, stops.stopped)
        }
    }

    /// Everything the pool job needs to render its output; a value so it can cross threads.
    struct Identity: Sendable {
        let completionID: String
        let created: Int
        let model: String
        let stream: Bool
        let includeUsage: Bool
        let promptTokens: Int
        /// Monotonic time the HTTP request arrived, and the endpoint, for metrics.
        let arrival: Double
        let endpoint: String
    }

    let requestID: UInt64
    private let identity: Identity
    private let loop: EventLoop
    private let responder: HTTPResponder
    private let text: TextState
    private var pending: [Int32] = []
    private var completionTokens = 0
    private var finishReason: WireProtocol.FinishReason?
    private var jobRunning = false
    private var done = false
    private var fullText = ""
    private let metrics: GatewayMetrics
    private var lastTokenTime: Double?

    /// Called when a stop string ends the completion early, to stop the sequence on the worker.
    private let cancelOnWorker: () -> Void

    init(requestID: UInt64, identity: Identity, tokenizer: Tokenizer, promptTokens: [Int32], stop: [String], loop: EventLoop,
         responder: HTTPResponder, metrics: GatewayMetrics, cancelOnWorker: @escaping () -> Void) {
        self.metrics = metrics
        self.requestID = requestID
        self.identity = identity
        self.loop = loop
        self.responder = responder
        self.cancelOnWorker = cancelOnWorker
        text = TextState(IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: promptTokens), stops: StopStringMatcher(stop))
    }

    /// Whether the SSE response has begun. It begins with the first chunk, so that a request the worker refuses
    /// before producing anything still gets a proper error status.
    private var streaming = false

    private func sendStreamChunk(_ bytes: [UInt8]) {
        if !streaming {
            streaming = true
            responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        }
        responder.sendChunk(bytes)
    }

    /// Handles an event from the worker (loop thread).
    func handle(_ event: WorkerEvent) {
        guard !done else { return }
        switch event {
        case .tokens(let update):
            if !update.tokenIDs.isEmpty {
                let now = monotonicSeconds()
                if let last = lastTokenTime {
                    metrics.interToken((now - last) / Double(update.tokenIDs.count))
                } else {
                    metrics.firstToken(after: now - identity.arrival)
                }
                lastTokenTime = now
            }
            pending += update.tokenIDs
            completionTokens += update.tokenIDs.count
            if update.finishReason.isFinished { finishReason = update.finishReason }
            pump()
        case .failed(let reply):
            fail(OpenAIError.fromWorker(reply))
        }
    }

    /// Starts the next render job if none runs and there is something to render.
    private func pump() {
        guard !jobRunning, !done, !pending.isEmpty || finishReason != nil else { return }
        let tokens = pending
        pending = []
        let finish = finishReason
        let identity = self.identity, text = self.text, completionTokens = self.completionTokens
        jobRunning = true
        loop.runOnPool({ () -> (String, [UInt8], Bool) in
            let (delta, stopped) = text.render(tokens, final: finish != nil)
            let reason = stopped ? .stop : finish
            guard identity.stream else { return (delta, [], stopped) }
            return (delta, Self.streamChunk(identity, delta: delta, finish: reason, completionTokens: completionTokens), stopped)
        }, then: { [self] (delta, chunk, stopped) in
            jobRunning = false
            guard !done else { return }
            if identity.stream {
                if !chunk.isEmpty { sendStreamChunk(chunk) }
            } else {
                fullText += delta
            }
            if stopped {
                cancelOnWorker()
                complete(.stop)
            } else if let finish, pending.isEmpty {
                complete(finish)
            } else {
                pump()
            }
        })
    }

    private func complete(_ finish: WireProtocol.FinishReason) {
        done = true
        metrics.answered(identity.endpoint, status: 200)
        metrics.completed(after: monotonicSeconds() - identity.arrival, promptTokens: identity.promptTokens,
                          generatedTokens: completionTokens)
        if identity.stream {
            sendStreamChunk(Array("data: [DONE]\n\n".utf8))
            responder.endStream()
        } else {
            let body = Self.response(identity, text: fullText, finish: finish, completionTokens: completionTokens)
            responder.respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
    }

    /// Ends the request with an error: an error body, or an error event on a stream that already started.
    func fail(_ error: OpenAIError) {
        guard !done else { return }
        done = true
        metrics.answered(identity.endpoint, status: error.status)
        if streaming {
            responder.sendChunk(Array("data: ".utf8) + error.body + Array("\n\ndata: [DONE]\n\n".utf8))
            responder.endStream()
        } else {
            responder.respond(status: error.status, headers: [("Content-Type", "application/json")], body: error.body)
        }
    }

    var isDone: Bool { done }

    // MARK: Rendering (pool threads)

    private static func finishName(_ finish: WireProtocol.FinishReason?) -> String? {
        switch finish {
        case .stop?: return "stop"
        case .length?: return "length"
        case .cancelled?, .error?: return "abort"
        case .notFinished?, nil: return nil
        }
    }

    private static func header(_ w: inout JSONWriter, _ identity: Identity) {
        w.field("id", identity.completionID)
        w.field("object", "text_completion")
        w.field("created", identity.created)
        w.field("model", identity.model)
    }

    private static func usage(_ w: inout JSONWriter, _ identity: Identity, completionTokens: Int) {
        w.field("usage") {
            $0.object {
                $0.field("prompt_tokens", identity.promptTokens)
                $0.field("completion_tokens", completionTokens)
                $0.field("total_tokens", identity.promptTokens + completionTokens)
            }
        }
    }

    private static func choice(_ w: inout JSONWriter, text: String, finish: WireProtocol.FinishReason?) {
        w.field("choices") {
            $0.array {
                $0.object {
                    $0.field("index", 0)
                    $0.field("text", text)
                    $0.field("logprobs", nil as String?)
                    $0.field("finish_reason", finishName(finish))
                }
            }
        }
    }

    /// The SSE events for a delta: the text chunk (with finish_reason on the last one), then the usage chunk
    /// when the client asked for it.
    static func streamChunk(_ identity: Identity, delta: String, finish: WireProtocol.FinishReason?, completionTokens: Int) -> [UInt8] {
        var out: [UInt8] = []
        if !delta.isEmpty || finish != nil {
            var w = JSONWriter()
            w.object {
                header(&$0, identity)
                choice(&$0, text: delta, finish: finish)
            }
            out += Array("data: ".utf8) + w.bytes + Array("\n\n".utf8)
        }
        if finish != nil && identity.includeUsage {
            var w = JSONWriter()
            w.object {
                header(&$0, identity)
                $0.field("choices") { $0.array { _ in } }
                usage(&$0, identity, completionTokens: completionTokens)
            }
            out += Array("data: ".utf8) + w.bytes + Array("\n\n".utf8)
        }
        return out
    }

    static func response(_ identity: Identity, text: String, finish: WireProtocol.FinishReason, completionTokens: Int) -> [UInt8] {
        var w = JSONWriter()
        w.object {
            header(&$0, identity)
            choice(&$0, text: text, finish: finish)
            usage(&$0, identity, completionTokens: completionTokens)
        }
        return w.bytes
    }
}

extension OpenAIError {
    /// Maps a worker's error reply to the HTTP error a client sees.
    static func fromWorker(_ reply: ErrorReply) -> OpenAIError {
        switch reply.code {
        case "context_length_exceeded", "kv_cache_too_small", "invalid_request":
            return .invalid(reply.message, param: reply.code == "invalid_request" ? "prompt" : "max_tokens", code: reply.code)
        case "worker_unavailable": return .unavailable(reply.message)
        default: return .internal(reply.message)
        }
    }
}
