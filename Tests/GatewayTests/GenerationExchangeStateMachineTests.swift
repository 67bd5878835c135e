import XCTest
import WireProtocol
@testable import Gateway

/// `GenerationExchangeStateMachine` event by event in every state, without a worker, a thread pool or a socket.
final class GenerationExchangeStateMachineTests: XCTestCase {
    private typealias Machine = GenerationExchangeStateMachine

    private static let arrival = 100.0
    private static let event: [UInt8] = Array("data: {}\n\n".utf8)
    private static let lastEvent: [UInt8] = Array("data: {\"finish_reason\":\"stop\"}\n\n".utf8)
    private static let badRequest = OpenAIError.invalid("the prompt is too long", param: "max_tokens", code: "context_length_exceeded")
    private static let workerGone = OpenAIError.unavailable("the engine worker went away")

    private static func tokens(_ ids: [Int32], _ finish: WireProtocol.FinishReason = .notFinished,
                               logprobs: [TokenLogprob] = []) -> TokenUpdate {
        TokenUpdate(requestID: 0, tokenIDs: ids, finishReason: finish, logprobs: logprobs)
    }

    private static func rendered(_ event: [UInt8] = event, used: Int, stopped: Bool = false) -> Machine.Rendered {
        Machine.Rendered(event: event, usedTokens: used, stopped: stopped)
    }

    private static func machine(choices: Int = 1, streams: Bool = true) -> Machine {
        Machine(choiceCount: choices, streams: streams, arrival: arrival)
    }

    /// A two-choice stream: choice 0 finished with a stop string after one token; choice 1 has a job running.
    private static func streamingMachine() -> Machine {
        var machine = machine(choices: 2)
        _ = machine.tokensArrived(tokens([1]), choice: 0, at: 101)
        _ = machine.tokensArrived(tokens([2]), choice: 1, at: 101)
        _ = machine.renderFinished(choice: 0, rendered(used: 1, stopped: true))
        return machine
    }

    /// A non-streamed two-choice response whose choices are done, its body being rendered.
    private static func renderingBodyMachine() -> Machine {
        var machine = machine(choices: 2, streams: false)
        _ = machine.tokensArrived(tokens([1, 2], .length), choice: 0, at: 101)
        _ = machine.tokensArrived(tokens([3], .stop), choice: 1, at: 101)
        _ = machine.renderFinished(choice: 0, rendered([], used: 2))
        _ = machine.renderFinished(choice: 1, rendered([], used: 1))
        return machine
    }

    /// Checks that every event leaves `machine` as it is.
    private func assertEveryEventIgnored(_ machine: Machine, file: StaticString = #filePath, line: UInt = #line) {
        let events: [(String, (inout Machine) -> [Machine.Action])] = [
            ("tokensArrived", { $0.tokensArrived(Self.tokens([9]), choice: 0, at: 200) }),
            ("renderFinished", { $0.renderFinished(choice: 0, Self.rendered(used: 1)) }),
            ("bodyRendered", { $0.bodyRendered([1]) }),
            ("failed", { $0.failed(Self.workerGone) }),
            ("clientDisconnected", { $0.clientDisconnected() }),
        ]
        for (name, event) in events {
            var copy = machine
            XCTAssertEqual(event(&copy), [], name, file: file, line: line)
            XCTAssertEqual(copy.state, machine.state, name, file: file, line: line)
        }
    }

    // MARK: Tokens and render jobs

    func testFirstTokensStartARenderJobAndCountTimeToFirstToken() {
        var machine = Self.machine()
        let logprob = TokenLogprob(logprob: -0.5, topTokenIDs: [7], topLogprobs: [-0.1])
        XCTAssertEqual(machine.tokensArrived(Self.tokens([5, 6], logprobs: [logprob, logprob]), choice: 0, at: 100.25),
                       [.observeTimeToFirstToken(seconds: 0.25),
                        .render(choice: 0, tokens: [5, 6], logprobs: [logprob, logprob], finish: nil, first: true)])
        XCTAssertEqual(machine.state, .awaitingFirstEvent)
        XCTAssertEqual(machine.choices[0].phase, .rendering(final: false))
        XCTAssertEqual(machine.choices[0].pendingTokens, [])
    }

    func testTokensArrivingWhileAJobRunsAreCoalescedIntoTheNextJob() {
        var machine = Self.machine()
        _ = machine.tokensArrived(Self.tokens([1]), choice: 0, at: 101)
        XCTAssertEqual(machine.tokensArrived(Self.tokens([2]), choice: 0, at: 101.5), [.observeInterTokenLatency(seconds: 0.5)])
        XCTAssertEqual(machine.tokensArrived(Self.tokens([3, 4]), choice: 0, at: 102.5), [.observeInterTokenLatency(seconds: 0.5)])
        XCTAssertEqual(machine.choices[0].pendingTokens, [2, 3, 4])
        // The first event begins the SSE response.
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(used: 1)),
                       [.startStream, .sendEvent(Self.event),
                        .render(choice: 0, tokens: [2, 3, 4], logprobs: [], finish: nil, first: false)])
        XCTAssertEqual(machine.state, .streaming)
        XCTAssertEqual(machine.choices[0].completionTokens, 1)
        XCTAssertTrue(machine.choices[0].sentFirstEvent)
        // Nothing pending: the choice waits for the worker.
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(used: 3)), [.sendEvent(Self.event)])
        XCTAssertEqual(machine.choices[0].phase, .waiting)
        XCTAssertEqual(machine.choices[0].completionTokens, 4)
    }

    func testAJobWithoutAnEventSendsNothingAndKeepsTheFirstEventFlag() {
        var machine = Self.machine()
        _ = machine.tokensArrived(Self.tokens([1]), choice: 0, at: 101)
        _ = machine.tokensArrived(Self.tokens([2]), choice: 0, at: 102)
        // E.g. a token that completes no character yet, or text held back as the start of a stop string.
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered([], used: 1)),
                       [.render(choice: 0, tokens: [2], logprobs: [], finish: nil, first: true)])
        XCTAssertEqual(machine.state, .awaitingFirstEvent)
    }

    func testTimeToFirstTokenIsTheRequestsAndInterTokenLatencyEachChoices() {
        var machine = Self.machine(choices: 2)
        XCTAssertEqual(machine.tokensArrived(Self.tokens([1]), choice: 0, at: 101).first, .observeTimeToFirstToken(seconds: 1))
        XCTAssertEqual(machine.tokensArrived(Self.tokens([2]), choice: 1, at: 102),
                       [.render(choice: 1, tokens: [2], logprobs: [], finish: nil, first: true)])
        XCTAssertEqual(machine.tokensArrived(Self.tokens([3, 4]), choice: 1, at: 106), [.observeInterTokenLatency(seconds: 2)])
    }

    func testAnUpdateWithoutTokensOrFinishDoesNothing() {
        var machine = Self.machine()
        XCTAssertEqual(machine.tokensArrived(Self.tokens([]), choice: 0, at: 101), [])
        XCTAssertEqual(machine.choices[0], Machine.Choice())
    }

    func testRenderFinishedWithoutAJobIsIgnored() {
        var machine = Self.machine()
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(used: 1)), [])
        XCTAssertEqual(machine.state, .awaitingFirstEvent)
    }

    // MARK: Completion

    func testStreamCompletesWithUsageAndDoneAfterTheFinalJob() {
        var machine = Self.machine()
        XCTAssertEqual(machine.tokensArrived(Self.tokens([1, 2], .length), choice: 0, at: 101),
                       [.observeTimeToFirstToken(seconds: 1),
                        .render(choice: 0, tokens: [1, 2], logprobs: [], finish: .length, first: true)])
        XCTAssertEqual(machine.choices[0].phase, .rendering(final: true))
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(Self.lastEvent, used: 2)),
                       [.startStream, .sendEvent(Self.lastEvent), .recordCompletion(completionTokens: 2), .endStream(completionTokens: 2)])
        XCTAssertEqual(machine.state, .finished(.answered))
        XCTAssertEqual(machine.choices[0].phase, .done(.length))
        assertEveryEventIgnored(machine)
    }

    /// The worker may end a sequence with an update that carries no tokens. If it arrives while a job runs, the
    /// choice still gets a final job (flushing held-back text and sending its finish reason) before it is done.
    func testFinishArrivingWhileAJobRunsGetsAFinalJobOfItsOwn() {
        var machine = Self.machine()
        _ = machine.tokensArrived(Self.tokens([1]), choice: 0, at: 101)
        XCTAssertEqual(machine.tokensArrived(Self.tokens([], .stop), choice: 0, at: 102), [])
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(used: 1)),
                       [.startStream, .sendEvent(Self.event), .render(choice: 0, tokens: [], logprobs: [], finish: .stop, first: false)])
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(Self.lastEvent, used: 0)),
                       [.sendEvent(Self.lastEvent), .recordCompletion(completionTokens: 1), .endStream(completionTokens: 1)])
        XCTAssertEqual(machine.state, .finished(.answered))
    }

    func testStopStringEndsItsChoiceAndCancelsTheSequence() {
        var machine = Self.machine(choices: 2)
        _ = machine.tokensArrived(Self.tokens([1, 2, 3]), choice: 0, at: 101)
        _ = machine.tokensArrived(Self.tokens([4]), choice: 0, at: 102)
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(Self.lastEvent, used: 2, stopped: true)),
                       [.startStream, .sendEvent(Self.lastEvent), .cancelOnWorker(choice: 0)])
        XCTAssertEqual(machine.choices[0].phase, .done(.stop))
        XCTAssertEqual(machine.state, .streaming)
        // A done choice takes no more tokens.
        XCTAssertEqual(machine.tokensArrived(Self.tokens([5]), choice: 0, at: 103), [])
        // The other choice ending completes the response, with the tokens of both.
        _ = machine.tokensArrived(Self.tokens([6], .stop), choice: 1, at: 103)
        XCTAssertEqual(machine.renderFinished(choice: 1, Self.rendered(Self.lastEvent, used: 1)),
                       [.sendEvent(Self.lastEvent), .recordCompletion(completionTokens: 3), .endStream(completionTokens: 3)])
    }

    func testStreamWithoutAnyEventStillBeginsBeforeDone() {
        var machine = Self.machine()
        _ = machine.tokensArrived(Self.tokens([1], .stop), choice: 0, at: 101)
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered([], used: 1)),
                       [.recordCompletion(completionTokens: 1), .startStream, .endStream(completionTokens: 1)])
        XCTAssertEqual(machine.state, .finished(.answered))
    }

    func testNonStreamedResponseRendersItsBodyOnceEveryChoiceIsDone() {
        var machine = Self.machine(choices: 2, streams: false)
        _ = machine.tokensArrived(Self.tokens([1, 2], .length), choice: 0, at: 101)
        _ = machine.tokensArrived(Self.tokens([3]), choice: 1, at: 101)
        XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered([], used: 2)), [])
        XCTAssertEqual(machine.renderFinished(choice: 1, Self.rendered([], used: 1, stopped: true)), [
            .cancelOnWorker(choice: 1), .recordCompletion(completionTokens: 3),
            .renderBody(finishReasons: [.length, .stop], completionTokens: 3),
        ])
        XCTAssertEqual(machine.state, .renderingBody)
        XCTAssertEqual(machine.bodyRendered([7, 8]), [.respond(body: [7, 8])])
        XCTAssertEqual(machine.state, .finished(.answered))
        assertEveryEventIgnored(machine)
    }

    func testBodyRenderedOutsideRenderingBodyIsIgnored() {
        var machine = Self.machine(streams: false)
        XCTAssertEqual(machine.bodyRendered([1]), [])
        XCTAssertEqual(machine.state, .awaitingFirstEvent)
        var streaming = Self.streamingMachine()
        XCTAssertEqual(streaming.bodyRendered([1]), [])
        XCTAssertEqual(streaming.state, .streaming)
    }

    // MARK: Failure

    func testWorkerErrorBeforeTheFirstEventIsAnsweredWithItsStatus() {
        for streams in [true, false] {
            var machine = Self.machine(choices: 2, streams: streams)
            _ = machine.tokensArrived(Self.tokens([1]), choice: 0, at: 101)
            XCTAssertEqual(machine.failed(Self.badRequest), [
                .cancelOnWorker(choice: 0), .cancelOnWorker(choice: 1), .recordAnswer(status: 400), .respondWithError(Self.badRequest),
            ])
            XCTAssertEqual(machine.state, .finished(.failed(Self.badRequest)))
            // The job that was running finds the request over.
            XCTAssertEqual(machine.renderFinished(choice: 0, Self.rendered(used: 1)), [])
            assertEveryEventIgnored(machine)
        }
    }

    func testWorkerErrorMidStreamEndsTheStreamWithAnErrorEvent() {
        var machine = Self.streamingMachine()
        XCTAssertEqual(machine.failed(Self.workerGone),
                       [.cancelOnWorker(choice: 1), .recordAnswer(status: 503), .endStreamWithError(Self.workerGone)])
        XCTAssertEqual(machine.state, .finished(.failed(Self.workerGone)))
        assertEveryEventIgnored(machine)
    }

    func testFailureWhileTheBodyIsRenderedIsIgnored() {
        var machine = Self.renderingBodyMachine()
        XCTAssertEqual(machine.failed(Self.workerGone), [])
        XCTAssertEqual(machine.tokensArrived(Self.tokens([9]), choice: 0, at: 200), [])
        XCTAssertEqual(machine.state, .renderingBody)
    }

    // MARK: Client disconnect

    func testClientDisconnectMidStreamCancelsTheUnfinishedChoices() {
        var machine = Self.streamingMachine()
        XCTAssertEqual(machine.clientDisconnected(),
                       [.recordAnswer(status: GatewayMetrics.clientClosedRequest), .cancelOnWorker(choice: 1)])
        XCTAssertEqual(machine.state, .finished(.clientDisconnected))
        // Choice 1's running job finishes into nothing: no event, no completion counted.
        XCTAssertEqual(machine.renderFinished(choice: 1, Self.rendered(used: 1)), [])
        assertEveryEventIgnored(machine)
    }

    func testClientDisconnectBeforeTheFirstEvent() {
        var machine = Self.machine(streams: false)
        XCTAssertEqual(machine.clientDisconnected(), [.recordAnswer(status: 499), .cancelOnWorker(choice: 0)])
        XCTAssertEqual(machine.state, .finished(.clientDisconnected))
        assertEveryEventIgnored(machine)
    }

    func testClientDisconnectWhileTheBodyIsRenderedIsIgnored() {
        var machine = Self.renderingBodyMachine()
        XCTAssertEqual(machine.clientDisconnected(), [])
        XCTAssertEqual(machine.state, .renderingBody)
        // The response is sent anyway (to a closed responder, which drops it).
        XCTAssertEqual(machine.bodyRendered([1]), [.respond(body: [1])])
    }
}
