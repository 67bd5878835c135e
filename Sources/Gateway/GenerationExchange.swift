import LoopIO
import Foundation
import Tokenizers
import WireProtocol

/// One completion or chat request from the moment it reaches the worker until its response is complete. With
/// `n` > 1 it runs `n` sequences (choices) on the worker. Token updates arrive on the loop thread; turning tokens
/// into text (detokenization, stop strings) and text into JSON happens on the thread pool, one job at a time per
/// choice so the detokenizer sees tokens in order. Tokens that arrive while a job runs are coalesced into the
/// next job, so a busy gateway writes fewer, larger chunks.
///
/// It exists to carry out what `GenerationExchangeStateMachine` decides: it reports worker events, finished pool
/// jobs and the client's disconnect to the machine and performs the actions it returns (pool jobs, responder
/// calls, metrics, cancellations). Loop thread only.
final class GenerationExchange {
    /// A choice's detokenizer and stop-string matcher, and the text and logprobs it has produced so far (for the
    /// whole body of a non-streamed response). Touched only by the choice's pool jobs, which run one at a time,
    /// and then by the job rendering the body, which runs after all of them.
    private final class ChoiceText: @unchecked Sendable {
        private var detokenizer: IncrementalDetokenizer
        private var stops: StopStringMatcher
        private(set) var text = ""
        private(set) var logprobs: [RenderedLogprob] = []

        init(_ detokenizer: IncrementalDetokenizer, stops: StopStringMatcher) {
            self.detokenizer = detokenizer
            self.stops = stops
        }

        /// Turns `tokens` (and the end of generation when the worker gave a `finish` reason) into text, appends it,
        /// and for streams returns it as choice `index`'s next SSE event (`first`: its first one).
        func render(_ tokens: [Int32], logprobs: [TokenLogprob], finish: WireProtocol.FinishReason?, first: Bool, index: Int,
                    identity: ResponseIdentity, tokenizer: Tokenizer) -> GenerationExchangeStateMachine.Rendered {
            let (delta, used, stopped) = detokenize(tokens, final: finish != nil)
            let rendered = identity.topLogprobs == nil
                ? [] : zip(tokens[..<used], logprobs).map { RenderedLogprob($0, $1, tokenizer: tokenizer) }
            text += delta
            self.logprobs += rendered
            let reason = stopped ? .stop : finish
            guard identity.stream, !delta.isEmpty || reason != nil || !rendered.isEmpty else {
                return .init(event: [], usedTokens: used, stopped: stopped)
            }
            return .init(event: ResponseRenderer.streamEvent(identity, index: index, text: delta, logprobs: rendered,
                                                             first: first, finish: reason),
                         usedTokens: used, stopped: stopped)
        }

        /// The text to emit for `tokens` (and the end of generation when `final`), how many of the tokens belong to
        /// the completion, and whether a stop string ended it. With stop strings the tokens are fed one at a time, so
        /// that tokens after the one completing a stop string are neither shown nor counted in `usage`.
        private func detokenize(_ tokens: [Int32], final: Bool) -> (text: String, used: Int, stopped: Bool) {
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

    private let identity: ResponseIdentity
    private let loop: EventLoop
    private let responder: HTTPResponder
    private let tokenizer: Tokenizer
    private let metrics: GatewayMetrics
    private let requestLog: RequestLog
    private let requestIDs: [UInt64]
    /// How long the request waited for room in the worker (set when it is sent), and when its first token came.
    var queueSeconds: Double?
    private var firstTokenSeconds: Double?
    private let texts: [ChoiceText]
    private var machine: GenerationExchangeStateMachine
    /// Stops a choice's sequence on the worker (a stop string ended it early, the request failed, the client left).
    private let cancelOnWorker: (UInt64) -> Void

    init(identity: ResponseIdentity, requestIDs: [UInt64], tokenizer: Tokenizer, promptTokens: [Int32], stop: [String],
         loop: EventLoop, responder: HTTPResponder, metrics: GatewayMetrics, requestLog: RequestLog,
         cancelOnWorker: @escaping (UInt64) -> Void) {
        self.requestLog = requestLog
        self.identity = identity
        self.loop = loop
        self.responder = responder
        self.tokenizer = tokenizer
        self.metrics = metrics
        self.requestIDs = requestIDs
        self.cancelOnWorker = cancelOnWorker
        texts = requestIDs.map { _ in
            ChoiceText(IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: promptTokens), stops: StopStringMatcher(stop))
        }
        machine = GenerationExchangeStateMachine(choiceCount: requestIDs.count, streams: identity.stream,
                                                 arrival: identity.arrival)
    }

    /// Handles an event from the worker for one of this exchange's sequences (loop thread).
    func handle(_ event: WorkerEvent, requestID: UInt64) {
        guard let choice = requestIDs.firstIndex(of: requestID) else { return }
        switch event {
        case .tokens(let update):
            perform(machine.tokensArrived(update, choice: choice, at: monotonicSeconds()))
        case .failed(let error):
            fail(error)
        }
    }

    /// Ends the request with an error: an error body, or an error event on a stream that already started.
    func fail(_ error: OpenAIError) {
        perform(machine.failed(error))
    }

    /// The client went away before the response was complete.
    func clientDisconnected() {
        perform(machine.clientDisconnected())
    }

    private func perform(_ actions: [GenerationExchangeStateMachine.Action]) {
        for action in actions {
            switch action {
            case .observeTimeToFirstToken(let seconds):
                metrics.firstToken(after: seconds)
                firstTokenSeconds = seconds
            case .observeInterTokenLatency(let seconds):
                metrics.interToken(seconds)
            case .render(let choice, let tokens, let logprobs, let finish, let first):
                let identity = self.identity, text = texts[choice], tokenizer = self.tokenizer
                loop.runOnPool({
                    text.render(tokens, logprobs: logprobs, finish: finish, first: first, index: choice,
                                identity: identity, tokenizer: tokenizer)
                }, then: { [self] rendered in
                    perform(machine.renderFinished(choice: choice, rendered))
                })
            case .startStream:
                responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
            case .sendEvent(let bytes):
                responder.sendChunk(bytes)
            case .cancelOnWorker(let choice):
                cancelOnWorker(requestIDs[choice])
            case .recordCompletion(let completionTokens):
                record(status: 200, outputTokens: completionTokens)
                metrics.answered(identity.endpoint, status: 200)
                metrics.completed(after: monotonicSeconds() - identity.arrival, promptTokens: identity.promptTokens,
                                  generatedTokens: completionTokens)
            case .endStream(let completionTokens):
                let usage = identity.includeUsage ? ResponseRenderer.usageEvent(identity, completionTokens: completionTokens) : []
                responder.sendChunk(usage + Array("data: [DONE]\n\n".utf8))
                responder.endStream()
            case .renderBody(let finishReasons, let completionTokens):
                let identity = self.identity, texts = self.texts
                loop.runOnPool({
                    ResponseRenderer.body(identity, choices: zip(texts, finishReasons).map { ($0.text, $0.logprobs, $1) },
                                          completionTokens: completionTokens)
                }, then: { [self] body in
                    perform(machine.bodyRendered(body))
                })
            case .respond(let body):
                responder.respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
            case .recordAnswer(let status):
                record(status: status, outputTokens: nil)
                metrics.answered(identity.endpoint, status: status)
            case .respondWithError(let error):
                responder.respond(status: error.status, headers: error.headers, body: error.body)
            case .endStreamWithError(let error):
                responder.sendChunk(Array("data: ".utf8) + error.body + Array("\n\ndata: [DONE]\n\n".utf8))
                responder.endStream()
            }
        }
    }

    private func record(status: Int, outputTokens: Int?) {
        requestLog.record(.init(id: identity.id, endpoint: identity.endpoint, status: status, promptTokens: identity.promptTokens,
                                outputTokens: outputTokens, queueSeconds: queueSeconds, firstTokenSeconds: firstTokenSeconds,
                                totalSeconds: monotonicSeconds() - identity.arrival))
    }
}
