import LoopIO
import Foundation
import Tokenizers
import WireProtocol

/// One completion or chat request from the moment it reaches the worker until its response is complete. With
/// `n` > 1 it runs `n` sequences (choices) on the worker. Token updates arrive on the loop thread; turning tokens
/// into text (detokenization, stop strings) and text into JSON happens on the thread pool, one job at a time per
/// choice so the detokenizer sees tokens in order. Tokens that arrive while a job runs are coalesced into the
/// next job, so a busy gateway writes fewer, larger chunks.
final class GenerationExchange {
    /// One choice: its worker sequence, text state and progress.
    private final class Choice {
        let index: Int
        let requestID: UInt64
        let text: TextState
        var pendingTokens: [Int32] = []
        var pendingLogprobs: [TokenLogprob] = []
        var completionTokens = 0
        var finish: WireProtocol.FinishReason?
        var jobRunning = false
        var done = false
        var sentFirstEvent = false
        /// When this choice's previous tokens arrived (inter-token latency is per sequence).
        var lastTokenTime: Double?
        var fullText = ""
        var logprobs: [RenderedLogprob] = []

        init(index: Int, requestID: UInt64, text: TextState) {
            self.index = index
            self.requestID = requestID
            self.text = text
        }
    }

    /// A choice's detokenizer and stop-string matcher, touched only by its (serialised) pool jobs.
    final class TextState: @unchecked Sendable {
        var detokenizer: IncrementalDetokenizer
        var stops: StopStringMatcher
        init(_ detokenizer: IncrementalDetokenizer, stops: StopStringMatcher) {
            self.detokenizer = detokenizer
            self.stops = stops
        }

        /// The text to emit for `tokens` (and the end of generation when `final`), how many of the tokens belong to
        /// the completion, and whether a stop string ended it. With stop strings the tokens are fed one at a time, so
        /// that tokens after the one completing a stop string are neither shown nor counted in `usage`.
        func render(_ tokens: [Int32], final: Bool) -> (text: String, used: Int, stopped: Bool) {
            var text = ""
            if stops.isEmpty {
                text = detokenizer.append(tokens)
            } else {
                for (index, token) in tokens.enumerated() {
                    text += stops.feed(detokenizer.append([token]))
                    if stops.stopped { return (text, index + 1, true) }
                }
            }
            if final && !stops.stopped { text += stops.feed(detokenizer.finish()) + stops.flush() }
            return (text, tokens.count, stops.stopped)
        }
    }

    let identity: ResponseIdentity
    private let loop: EventLoop
    private let responder: HTTPResponder
    private let tokenizer: Tokenizer
    private let metrics: GatewayMetrics
    private var choices: [Choice]
    private var byRequestID: [UInt64: Choice] = [:]
    private var finished = false
    private var streaming = false
    private var sawFirstToken = false
    /// Stops a choice's sequence on the worker (a stop string ended it early, or the request failed).
    private let cancelOnWorker: (UInt64) -> Void

    init(identity: ResponseIdentity, requestIDs: [UInt64], tokenizer: Tokenizer, promptTokens: [Int32], stop: [String],
         loop: EventLoop, responder: HTTPResponder, metrics: GatewayMetrics, cancelOnWorker: @escaping (UInt64) -> Void) {
        self.identity = identity
        self.loop = loop
        self.responder = responder
        self.tokenizer = tokenizer
        self.metrics = metrics
        self.cancelOnWorker = cancelOnWorker
        choices = requestIDs.enumerated().map { index, id in
            Choice(index: index, requestID: id, text: TextState(IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: promptTokens),
                                                                stops: StopStringMatcher(stop)))
        }
        for choice in choices { byRequestID[choice.requestID] = choice }
    }

    var isDone: Bool { finished }
    /// Worker sequences still running (to cancel when the client goes away).
    var activeRequestIDs: [UInt64] { choices.filter { !$0.done }.map(\.requestID) }

    /// Handles an event from the worker for one of this exchange's sequences (loop thread).
    func handle(_ event: WorkerEvent, requestID: UInt64) {
        guard !finished, let choice = byRequestID[requestID], !choice.done else { return }
        switch event {
        case .tokens(let update):
            recordLatency(of: choice, tokens: update.tokenIDs.count)
            choice.pendingTokens += update.tokenIDs
            choice.pendingLogprobs += update.logprobs
            if update.finishReason.isFinished { choice.finish = update.finishReason }
            pump(choice)
        case .failed(let error):
            fail(error)
        }
    }

    /// Time to first token is the request's (its first token of any choice); inter-token latency is each choice's.
    private func recordLatency(of choice: Choice, tokens: Int) {
        guard tokens > 0 else { return }
        let now = monotonicSeconds()
        if let last = choice.lastTokenTime { metrics.interToken((now - last) / Double(tokens)) }
        if !sawFirstToken {
            sawFirstToken = true
            metrics.firstToken(after: now - identity.arrival)
        }
        choice.lastTokenTime = now
    }

    /// Starts the next render job of `choice` if none runs and there is something to render.
    private func pump(_ choice: Choice) {
        guard !choice.jobRunning, !choice.done, !finished, !choice.pendingTokens.isEmpty || choice.finish != nil else { return }
        let tokens = choice.pendingTokens, logprobs = choice.pendingLogprobs, finish = choice.finish
        choice.pendingTokens = []
        choice.pendingLogprobs = []
        choice.jobRunning = true
        let identity = self.identity, text = choice.text, tokenizer = self.tokenizer
        let index = choice.index, first = !choice.sentFirstEvent
        loop.runOnPool({ () -> (String, [RenderedLogprob], [UInt8], Int, Bool) in
            let (delta, used, stopped) = text.render(tokens, final: finish != nil)
            let rendered = identity.topLogprobs == nil ? [] : zip(tokens[..<used], logprobs).map { RenderedLogprob($0, $1, tokenizer: tokenizer) }
            let reason = stopped ? .stop : finish
            guard identity.stream, !delta.isEmpty || reason != nil || !rendered.isEmpty else { return (delta, rendered, [], used, stopped) }
            return (delta, rendered, ResponseRenderer.streamEvent(identity, index: index, text: delta, logprobs: rendered,
                                                                  first: first, finish: reason), used, stopped)
        }, then: { [self] (delta, rendered, event, used, stopped) in
            choice.jobRunning = false
            guard !finished else { return }
            if !event.isEmpty {
                choice.sentFirstEvent = true
                sendStreamBytes(event)
            }
            choice.fullText += delta
            choice.logprobs += rendered
            choice.completionTokens += used
            if stopped {
                cancelOnWorker(choice.requestID)
                choice.finish = .stop
                choice.done = true
            } else if choice.finish != nil && choice.pendingTokens.isEmpty {
                choice.done = true
            } else {
                pump(choice)
            }
            if choices.allSatisfy(\.done) { complete() }
        })
    }

    /// Whether the SSE response has begun. It begins with the first event, so that a request the worker refuses
    /// before producing anything still gets a proper error status.
    private func sendStreamBytes(_ bytes: [UInt8]) {
        if !streaming {
            streaming = true
            responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        }
        responder.sendChunk(bytes)
    }

    private func complete() {
        finished = true
        let completionTokens = choices.reduce(0) { $0 + $1.completionTokens }
        metrics.answered(identity.endpoint, status: 200)
        metrics.completed(after: monotonicSeconds() - identity.arrival, promptTokens: identity.promptTokens,
                          generatedTokens: completionTokens)
        if identity.stream {
            var tail: [UInt8] = []
            if identity.includeUsage { tail += ResponseRenderer.usageEvent(identity, completionTokens: completionTokens) }
            sendStreamBytes(tail + Array("data: [DONE]\n\n".utf8))
            responder.endStream()
        } else {
            let identity = self.identity
            let results = choices.map { ($0.fullText, $0.logprobs, $0.finish ?? .stop) }
            loop.runOnPool({ ResponseRenderer.body(identity, choices: results, completionTokens: completionTokens) }, then: { [responder] body in
                responder.respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
            })
        }
    }

    /// Ends the request with an error: an error body, or an error event on a stream that already started.
    func fail(_ error: OpenAIError) {
        guard !finished else { return }
        finished = true
        for choice in choices where !choice.done { cancelOnWorker(choice.requestID) }
        metrics.answered(identity.endpoint, status: error.status)
        if streaming {
            responder.sendChunk(Array("data: ".utf8) + error.body + Array("\n\ndata: [DONE]\n\n".utf8))
            responder.endStream()
        } else {
            responder.respond(status: error.status, headers: error.headers, body: error.body)
        }
    }
}
