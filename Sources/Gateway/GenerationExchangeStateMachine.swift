import WireProtocol

/// The lifecycle of one completion or chat request from its submission to the worker until its response is
/// complete: its choices' tokens, their render jobs, the response (streamed or whole) and how it ends.
///
/// It exists so that the ordering rules — one render job at a time per choice, tokens coalesced while a job runs,
/// the SSE stream begun only by the first event, an error answered with its own status until then, nothing done
/// after the request ended — can be read in one place and tested event by event without a worker, a thread pool
/// or a socket. `GenerationExchange` reports events here and performs the actions returned, in order. Loop
/// thread only, like its exchange.
///
/// `awaitingFirstEvent` —first event (streams)→ `streaming` —every choice done→ `finished(.answered)`; a
/// non-streamed response goes from `awaitingFirstEvent`, every choice done, to `renderingBody` → `finished(.answered)`.
/// A failure or the client leaving ends `awaitingFirstEvent` and `streaming` in `finished(.failed)` or
/// `finished(.clientDisconnected)`; once the body is being rendered, neither changes anything.
struct GenerationExchangeStateMachine {
    enum State: Equatable {
        /// No byte of the response is out, so an error still gets its own status. A non-streamed response stays
        /// here until every choice is done.
        case awaitingFirstEvent
        /// The SSE response has begun (with the first event of any choice).
        case streaming
        /// Every choice is done; the whole body of a non-streamed response is being rendered.
        case renderingBody
        case finished(Outcome)
    }

    /// How an exchange ended.
    enum Outcome: Equatable {
        case answered
        case failed(OpenAIError)
        case clientDisconnected
    }

    /// One choice's progress: its worker sequence's tokens on their way to the client.
    struct Choice: Equatable {
        enum Phase: Equatable {
            /// No render job runs.
            case waiting
            /// A render job runs; `final`: it also ends the choice's text (the worker finished the sequence).
            case rendering(final: Bool)
            /// The choice's text is complete.
            case done(WireProtocol.FinishReason)
        }

        var phase = Phase.waiting
        /// Tokens received and not yet handed to a render job (with their logprobs when those were asked for).
        var pendingTokens: [Int32] = []
        var pendingLogprobs: [TokenLogprob] = []
        /// How the worker ended the sequence, once it did.
        var workerFinish: WireProtocol.FinishReason?
        /// Tokens that belong to the completion (tokens after a stop string do not).
        var completionTokens = 0
        var sentFirstEvent = false
        /// When the previous tokens arrived (inter-token latency is per sequence).
        var lastTokenTime: Double?

        var finishReason: WireProtocol.FinishReason? {
            if case .done(let reason) = phase { return reason }
            return nil
        }
    }

    /// What a render job reports.
    struct Rendered: Equatable, Sendable {
        /// The SSE event to send (streams only); empty when there is nothing to show.
        var event: [UInt8]
        /// How many of the job's tokens belong to the completion.
        var usedTokens: Int
        /// A stop string ended the choice.
        var stopped: Bool
    }

    enum Action: Equatable {
        case observeTimeToFirstToken(seconds: Double)
        case observeInterTokenLatency(seconds: Double)
        /// Turn `tokens` of choice `choice` into text and (streams) an SSE event on the thread pool, then report
        /// `renderFinished`. `finish`: the worker ended the sequence, so the choice's text ends too; `first`: the
        /// choice's first event.
        case render(choice: Int, tokens: [Int32], logprobs: [TokenLogprob], finish: WireProtocol.FinishReason?, first: Bool)
        /// Send the status and headers of the SSE response.
        case startStream
        case sendEvent([UInt8])
        /// Stop the choice's sequence on the worker.
        case cancelOnWorker(choice: Int)
        /// Count the request as answered (200) and completed.
        case recordCompletion(completionTokens: Int)
        /// Send the usage event (if asked for) and `[DONE]`, and end the stream.
        case endStream(completionTokens: Int)
        /// Render the whole body on the thread pool, then report `bodyRendered`.
        case renderBody(finishReasons: [WireProtocol.FinishReason], completionTokens: Int)
        case respond(body: [UInt8])
        /// Count the request as answered with `status`.
        case recordAnswer(status: Int)
        /// Answer with the error's status and body.
        case respondWithError(OpenAIError)
        /// Send the error as an event, then `[DONE]`, and end the stream.
        case endStreamWithError(OpenAIError)
    }

    private(set) var state = State.awaitingFirstEvent
    private(set) var choices: [Choice]
    private let streams: Bool
    /// Monotonic arrival time of the request (time to first token is measured from it).
    private let arrival: Double

    init(choiceCount: Int, streams: Bool, arrival: Double) {
        choices = Array(repeating: Choice(), count: choiceCount)
        self.streams = streams
        self.arrival = arrival
    }

    private var isGenerating: Bool { state == .awaitingFirstEvent || state == .streaming }

    // MARK: Events

    /// The worker sent tokens, and perhaps the end, of choice `index`'s sequence; `now` is the monotonic time.
    /// Time to first token is the request's (its first token of any choice); inter-token latency is each choice's.
    mutating func tokensArrived(_ update: TokenUpdate, choice index: Int, at now: Double) -> [Action] {
        guard isGenerating, choices[index].finishReason == nil else { return [] }
        var actions: [Action] = []
        if !update.tokenIDs.isEmpty {
            if let last = choices[index].lastTokenTime {
                actions.append(.observeInterTokenLatency(seconds: (now - last) / Double(update.tokenIDs.count)))
            }
            if choices.allSatisfy({ $0.lastTokenTime == nil }) {
                actions.append(.observeTimeToFirstToken(seconds: now - arrival))
            }
            choices[index].lastTokenTime = now
        }
        choices[index].pendingTokens += update.tokenIDs
        choices[index].pendingLogprobs += update.logprobs
        if update.finishReason.isFinished { choices[index].workerFinish = update.finishReason }
        return actions + renderNext(index)
    }

    /// Choice `index`'s render job finished. Tokens that arrived meanwhile go to the next job; a stop string
    /// ends the choice (and its sequence on the worker); the last choice done completes the response.
    mutating func renderFinished(choice index: Int, _ rendered: Rendered) -> [Action] {
        guard case .rendering(let final) = choices[index].phase else { return [] }
        choices[index].phase = .waiting
        guard isGenerating else { return [] }
        var actions: [Action] = []
        if !rendered.event.isEmpty {
            choices[index].sentFirstEvent = true
            actions += beginStream() + [.sendEvent(rendered.event)]
        }
        choices[index].completionTokens += rendered.usedTokens
        if rendered.stopped {
            choices[index].phase = .done(.stop)
            actions.append(.cancelOnWorker(choice: index))
        } else if final, let finish = choices[index].workerFinish {
            choices[index].phase = .done(finish)
        } else {
            actions += renderNext(index)
        }
        return actions + completeIfAllDone()
    }

    /// The body of a non-streamed response is rendered.
    mutating func bodyRendered(_ body: [UInt8]) -> [Action] {
        guard state == .renderingBody else { return [] }
        state = .finished(.answered)
        return [.respond(body: body)]
    }

    /// The request failed (the worker refused or lost it, or it could not be submitted): an error body, or an
    /// error event on a stream that already began.
    mutating func failed(_ error: OpenAIError) -> [Action] {
        guard isGenerating else { return [] }
        let end: Action = state == .streaming ? .endStreamWithError(error) : .respondWithError(error)
        state = .finished(.failed(error))
        return cancelUnfinishedChoices() + [.recordAnswer(status: error.status), end]
    }

    /// The client went away before the response was complete: its sequences are cancelled so that the worker
    /// frees their KV blocks at once, and it is counted with nginx's status for a client that closed the request.
    mutating func clientDisconnected() -> [Action] {
        guard isGenerating else { return [] }
        state = .finished(.clientDisconnected)
        return [.recordAnswer(status: GatewayMetrics.clientClosedRequest)] + cancelUnfinishedChoices()
    }

    // MARK: Helpers

    /// Starts choice `index`'s next render job if none runs and there is something to render.
    private mutating func renderNext(_ index: Int) -> [Action] {
        let choice = choices[index]
        guard choice.phase == .waiting, !choice.pendingTokens.isEmpty || choice.workerFinish != nil else { return [] }
        choices[index].pendingTokens = []
        choices[index].pendingLogprobs = []
        choices[index].phase = .rendering(final: choice.workerFinish != nil)
        return [.render(choice: index, tokens: choice.pendingTokens, logprobs: choice.pendingLogprobs,
                        finish: choice.workerFinish, first: !choice.sentFirstEvent)]
    }

    /// The SSE response begins with the first bytes sent, so that a request the worker refuses before producing
    /// anything still gets a proper error status.
    private mutating func beginStream() -> [Action] {
        guard state == .awaitingFirstEvent else { return [] }
        state = .streaming
        return [.startStream]
    }

    private mutating func completeIfAllDone() -> [Action] {
        let finishReasons = choices.compactMap(\.finishReason)
        guard finishReasons.count == choices.count else { return [] }
        let completionTokens = choices.reduce(0) { $0 + $1.completionTokens }
        if streams {
            let begin = beginStream()
            state = .finished(.answered)
            return [.recordCompletion(completionTokens: completionTokens)] + begin
                + [.endStream(completionTokens: completionTokens)]
        }
        state = .renderingBody
        return [.recordCompletion(completionTokens: completionTokens),
                .renderBody(finishReasons: finishReasons, completionTokens: completionTokens)]
    }

    private func cancelUnfinishedChoices() -> [Action] {
        choices.indices.filter { choices[$0].finishReason == nil }.map { .cancelOnWorker(choice: $0) }
    }
}
