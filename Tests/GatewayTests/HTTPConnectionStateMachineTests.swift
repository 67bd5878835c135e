import XCTest
@testable import Gateway

/// `HTTPConnectionStateMachine` event by event in every state, without sockets. Responses are plain integers.
final class HTTPConnectionStateMachineTests: XCTestCase {
    private typealias Machine = HTTPConnectionStateMachine<Int>

    /// Distinct values, so that each timeout is recognisable in `startTimer`.
    private static func configuration(idle: UInt64 = 600, header: UInt64 = 100, linger: UInt64 = 20) -> HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration()
        configuration.idleTimeoutMs = idle
        configuration.headerReadTimeoutMs = header
        configuration.lingerTimeoutMs = linger
        configuration.maxPendingWriteBytes = 1000
        configuration.maxBodyBytes = 100
        configuration.maxHeaderBytes = 50
        return configuration
    }

    /// Bytes buffered behind a request in flight before reading pauses: maxBodyBytes + maxHeaderBytes + 64 KiB.
    private static let pipelinedByteLimit = 100 + 50 + 65536

    private static let get = HTTPRequest(method: "GET", target: "/a")
    private static let getAndClose = HTTPRequest(method: "GET", target: "/b", headers: ["Connection": "close"])
    private static var closeActions: [Machine.Action] { [.closeTimer, .closeStream] }
    private static var closeWithResponseActions: [Machine.Action] { [.closeTimer, .detach(1), .closeStream] }

    /// The states, each reached through events from a new connection.
    private enum Situation: CaseIterable {
        case reading, readingIdle, readingHead, readingBody
        case responding, respondingThenClose, respondingPaused, sendingError
        case flushing, lingering, closing, closed
    }

    private static func machine(_ situation: Situation, configuration: HTTPServer.Configuration = configuration()) -> Machine {
        var machine = Machine(configuration: configuration)
        _ = machine.start()
        switch situation {
        case .reading:
            break
        case .readingIdle:
            _ = machine.needsMoreInput(phase: .idle)
        case .readingHead:
            _ = machine.needsMoreInput(phase: .head)
        case .readingBody:
            _ = machine.needsMoreInput(phase: .body)
        case .responding:
            _ = machine.requestReceived(get, response: 1, serverIsClosing: false)
        case .respondingThenClose:
            _ = machine.requestReceived(getAndClose, response: 1, serverIsClosing: false)
        case .respondingPaused:
            _ = machine.requestReceived(get, response: 1, serverIsClosing: false)
            _ = machine.inputBuffered(byteCount: pipelinedByteLimit + 1)
        case .sendingError:
            _ = machine.requestMalformed(.badRequest("bad"))
        case .flushing:
            _ = machine.requestReceived(getAndClose, response: 1, serverIsClosing: false)
            _ = machine.responseFinished()
        case .lingering:
            _ = machine.requestReceived(getAndClose, response: 1, serverIsClosing: false)
            _ = machine.responseFinished()
            _ = machine.writeSideShutDown(succeeded: true)
        case .closing:
            _ = machine.requestReceived(get, response: 1, serverIsClosing: false)
            _ = machine.closeRequested()
        case .closed:
            _ = machine.requestReceived(get, response: 1, serverIsClosing: false)
            _ = machine.closeRequested()
            _ = machine.streamClosed()
        }
        return machine
    }

    private static var expectedStates: [Situation: Machine.State] { [
        .reading: .reading(deadline: nil),
        .readingIdle: .reading(deadline: .idle),
        .readingHead: .reading(deadline: .head),
        .readingBody: .reading(deadline: .body),
        .responding: .responding(1, closeAfterResponse: false, readPaused: false),
        .respondingThenClose: .responding(1, closeAfterResponse: true, readPaused: false),
        .respondingPaused: .responding(1, closeAfterResponse: false, readPaused: true),
        .sendingError: .responding(nil, closeAfterResponse: true, readPaused: false),
        .flushing: .flushing,
        .lingering: .lingering,
        .closing: .closing(abandoned: 1),
        .closed: .closed,
    ] }

    /// Applies `event` in `situation` and checks the actions and the state reached.
    private func assertTransition(_ situation: Situation, _ event: (inout Machine) -> [Machine.Action],
                                  actions: [Machine.Action], state: Machine.State,
                                  configuration: HTTPServer.Configuration = configuration(),
                                  file: StaticString = #filePath, line: UInt = #line) {
        var machine = Self.machine(situation, configuration: configuration)
        XCTAssertEqual(event(&machine), actions, "actions in \(situation)", file: file, line: line)
        XCTAssertEqual(machine.state, state, "state after \(situation)", file: file, line: line)
    }

    /// Checks that `event` does nothing in each of `situations`.
    private func assertIgnored(in situations: [Situation], _ event: (inout Machine) -> [Machine.Action],
                               file: StaticString = #filePath, line: UInt = #line) {
        for situation in situations {
            assertTransition(situation, event, actions: [], state: Self.expectedStates[situation]!, file: file, line: line)
        }
    }

    func testEachSituationIsTheStateItNames() {
        for situation in Situation.allCases {
            XCTAssertEqual(Self.machine(situation).state, Self.expectedStates[situation], "\(situation)")
        }
    }

    // MARK: start, reject

    func testStartReadsAndParses() {
        var machine = Machine(configuration: Self.configuration())
        XCTAssertEqual(machine.start(), [.startReading, .parse])
        XCTAssertEqual(machine.state, .reading(deadline: nil))
        assertIgnored(in: Situation.allCases.filter { $0 != .reading }) { $0.start() }
    }

    func testRejectAnswers503WithoutReadingARequest() {
        var machine = Machine(configuration: Self.configuration())
        XCTAssertEqual(machine.reject(), [
            .startReading, .sendError(status: 503, message: "The server is at its connection limit; retry later.", type: "server_error"),
        ])
        XCTAssertEqual(machine.state, .responding(nil, closeAfterResponse: true, readPaused: false))
        XCTAssertEqual(machine.responseFinished(), [.startTimer(milliseconds: 600), .shutDownWriteSide])
        XCTAssertEqual(machine.state, .flushing)
        assertIgnored(in: Situation.allCases.filter { $0 != .reading }) { $0.reject() }
    }

    // MARK: Reading

    func testInputIsParsedWhileReadingAndBufferedWhileResponding() {
        for situation in [Situation.reading, .readingIdle, .readingHead, .readingBody] {
            assertTransition(situation, { $0.inputBuffered(byteCount: 10) }, actions: [.parse],
                             state: Self.expectedStates[situation]!)
        }
        assertIgnored(in: [.responding, .respondingThenClose, .sendingError]) { $0.inputBuffered(byteCount: Self.pipelinedByteLimit) }
        assertIgnored(in: [.respondingPaused, .flushing, .lingering, .closing, .closed]) {
            $0.inputBuffered(byteCount: Self.pipelinedByteLimit + 1)
        }
    }

    func testPipeliningBeyondTheLimitPausesReadingUntilTheResponseFinishes() {
        assertTransition(.responding, { $0.inputBuffered(byteCount: Self.pipelinedByteLimit + 1) }, actions: [.stopReading],
                         state: .responding(1, closeAfterResponse: false, readPaused: true))
        assertTransition(.respondingPaused, { $0.responseFinished() }, actions: [.startReading, .parse],
                         state: .reading(deadline: nil))
        var closing = Self.machine(.respondingThenClose)
        XCTAssertEqual(closing.inputBuffered(byteCount: Self.pipelinedByteLimit + 1), [.stopReading])
        XCTAssertEqual(closing.responseFinished(), [.startTimer(milliseconds: 600), .startReading, .shutDownWriteSide])
        XCTAssertEqual(closing.state, .flushing)
    }

    func testInputIsDiscardedOnceNoMoreRequestsAreRead() {
        let discarding = Situation.allCases.filter { Self.machine($0).isDiscardingInput }
        XCTAssertEqual(discarding, [.flushing, .lingering, .closing, .closed])
        let awaiting = Situation.allCases.filter { Self.machine($0).isAwaitingRequest }
        XCTAssertEqual(awaiting, [.reading, .readingIdle, .readingHead, .readingBody])
        let closed = Situation.allCases.filter { Self.machine($0).isClosed }
        XCTAssertEqual(closed, [.closing, .closed])
    }

    func testRequestIsDispatchedWithTheTimerStopped() {
        for situation in [Situation.reading, .readingIdle, .readingHead, .readingBody] {
            assertTransition(situation, { $0.requestReceived(Self.get, response: 7, serverIsClosing: false) },
                             actions: [.stopTimer, .dispatch(Self.get, 7)],
                             state: .responding(7, closeAfterResponse: false, readPaused: false))
        }
        assertIgnored(in: [.responding, .respondingPaused, .sendingError, .flushing, .lingering, .closing, .closed]) {
            $0.requestReceived(Self.get, response: 7, serverIsClosing: false)
        }
    }

    func testWhetherTheConnectionClosesAfterTheResponse() {
        let http10 = HTTPRequest(method: "GET", target: "/", version: .http1_0)
        let http10KeepAlive = HTTPRequest(method: "GET", target: "/", version: .http1_0, headers: ["Connection": "keep-alive"])
        let cases: [(HTTPRequest, Bool, Bool)] = [
            (Self.get, false, false), (Self.getAndClose, false, true), (Self.get, true, true),
            (http10, false, true), (http10KeepAlive, false, false),
        ]
        for (request, serverIsClosing, closes) in cases {
            var machine = Self.machine(.reading)
            _ = machine.requestReceived(request, response: 1, serverIsClosing: serverIsClosing)
            XCTAssertEqual(machine.closesAfterResponse, closes, "\(request.version) \(request.headers)")
            XCTAssertEqual(machine.state, .responding(1, closeAfterResponse: closes, readPaused: false))
        }
    }

    func testMalformedRequestIsAnsweredByTheServerThenTheConnectionDrains() {
        assertTransition(.readingHead, { $0.requestMalformed(HTTPParseError(status: 431, message: "too many headers")) },
                         actions: [.sendError(status: 431, message: "too many headers", type: "invalid_request_error")],
                         state: .responding(nil, closeAfterResponse: true, readPaused: false))
        assertTransition(.sendingError, { $0.responseFinished() }, actions: [.startTimer(milliseconds: 600), .shutDownWriteSide],
                         state: .flushing)
        assertIgnored(in: [.responding, .sendingError, .flushing, .lingering, .closing, .closed]) {
            $0.requestMalformed(.badRequest("late"))
        }
    }

    // MARK: Timeouts

    func testEachParserPhaseArmsItsTimeout() {
        // A new connection's first request must arrive within the header timeout.
        assertTransition(.reading, { $0.needsMoreInput(phase: .idle) }, actions: [.startTimer(milliseconds: 100)],
                         state: .reading(deadline: .idle))
        assertTransition(.readingIdle, { $0.needsMoreInput(phase: .head) }, actions: [.startTimer(milliseconds: 100)],
                         state: .reading(deadline: .head))
        assertTransition(.readingHead, { $0.needsMoreInput(phase: .body) }, actions: [.startTimer(milliseconds: 600)],
                         state: .reading(deadline: .body))
        // The header timeout bounds the whole head; the body timeout is one of inactivity.
        assertIgnored(in: [.readingIdle]) { $0.needsMoreInput(phase: .idle) }
        assertIgnored(in: [.readingHead]) { $0.needsMoreInput(phase: .head) }
        assertTransition(.readingBody, { $0.needsMoreInput(phase: .body) }, actions: [.startTimer(milliseconds: 600)],
                         state: .reading(deadline: .body))
        assertIgnored(in: [.responding, .sendingError, .flushing, .lingering, .closing, .closed]) { $0.needsMoreInput(phase: .body) }
    }

    func testLaterRequestsGetTheIdleTimeout() {
        var machine = Self.machine(.responding)
        XCTAssertEqual(machine.responseFinished(), [.parse])
        XCTAssertEqual(machine.state, .reading(deadline: nil))
        XCTAssertEqual(machine.needsMoreInput(phase: .idle), [.startTimer(milliseconds: 600)])
        XCTAssertEqual(machine.needsMoreInput(phase: .head), [.startTimer(milliseconds: 100)])
    }

    func testDisabledTimeoutsStopTheTimer() {
        let disabled = Self.configuration(idle: 0, header: 0, linger: 0)
        assertTransition(.reading, { $0.needsMoreInput(phase: .idle) }, actions: [.stopTimer], state: .reading(deadline: .idle),
                         configuration: disabled)
        assertTransition(.readingHead, { $0.needsMoreInput(phase: .body) }, actions: [.stopTimer], state: .reading(deadline: .body),
                         configuration: disabled)
        assertTransition(.respondingThenClose, { $0.responseFinished() }, actions: [.stopTimer, .shutDownWriteSide], state: .flushing,
                         configuration: disabled)
        // Without a linger timeout the connection closes as soon as the write side is shut down.
        assertTransition(.flushing, { $0.writeSideShutDown(succeeded: true) }, actions: Self.closeActions,
                         state: .closing(abandoned: nil), configuration: disabled)
    }

    func testTimerFiring() {
        assertTransition(.readingIdle, { $0.timerFired() }, actions: Self.closeActions, state: .closing(abandoned: nil))
        for situation in [Situation.readingHead, .readingBody] {
            assertTransition(situation, { $0.timerFired() },
                             actions: [.sendError(status: 408, message: "Timed out waiting for the request.",
                                                  type: "invalid_request_error")],
                             state: .responding(nil, closeAfterResponse: true, readPaused: false))
        }
        assertTransition(.flushing, { $0.timerFired() }, actions: Self.closeActions, state: .closing(abandoned: nil))
        assertTransition(.lingering, { $0.timerFired() }, actions: Self.closeActions, state: .closing(abandoned: nil))
        // No timeout runs while a request is answered: a handler that never answers keeps the connection open.
        assertIgnored(in: [.reading, .responding, .respondingThenClose, .respondingPaused, .sendingError, .closing, .closed]) {
            $0.timerFired()
        }
    }

    // MARK: Responding

    func testKeepAliveResponseGoesBackToReading() {
        assertTransition(.responding, { $0.responseFinished() }, actions: [.parse], state: .reading(deadline: nil))
        assertTransition(.respondingThenClose, { $0.responseFinished() }, actions: [.startTimer(milliseconds: 600), .shutDownWriteSide],
                         state: .flushing)
        // A writer that finishes after the connection closed under it (its own write failed) changes nothing.
        assertIgnored(in: [.reading, .readingBody, .flushing, .lingering, .closing, .closed]) { $0.responseFinished() }
    }

    func testCloseDelimitedStreamMakesTheResponseTheLast() {
        var machine = Self.machine(.responding)
        XCTAssertFalse(machine.closesAfterResponse)
        machine.responseIsCloseDelimited()
        XCTAssertTrue(machine.closesAfterResponse)
        XCTAssertEqual(machine.state, .responding(1, closeAfterResponse: true, readPaused: false))
        var paused = Self.machine(.respondingPaused)
        paused.responseIsCloseDelimited()
        XCTAssertEqual(paused.state, .responding(1, closeAfterResponse: true, readPaused: true))
        for situation in [Situation.reading, .flushing, .closed] {
            var other = Self.machine(situation)
            other.responseIsCloseDelimited()
            XCTAssertEqual(other.state, Self.expectedStates[situation], "\(situation)")
        }
    }

    func testWritesUpToTheBackpressureLimit() {
        let bytes: [[UInt8]] = [[1, 2], [3]]
        for situation in [Situation.readingHead, .responding, .sendingError] {
            assertTransition(situation, { $0.writeRequested(bytes, pendingWriteBytes: 1000) }, actions: [.write(bytes)],
                             state: Self.expectedStates[situation]!)
        }
        // Beyond it the client is not reading: the connection closes instead, abandoning the response in flight.
        assertTransition(.responding, { $0.writeRequested(bytes, pendingWriteBytes: 1001) }, actions: Self.closeWithResponseActions,
                         state: .closing(abandoned: 1))
        assertTransition(.reading, { $0.writeRequested(bytes, pendingWriteBytes: 1001) }, actions: Self.closeActions,
                         state: .closing(abandoned: nil))
        assertIgnored(in: [.flushing, .lingering, .closing, .closed]) { $0.writeRequested(bytes, pendingWriteBytes: 0) }
    }

    // MARK: Closing

    func testWriteSideShutDownLingersThenCloses() {
        assertTransition(.flushing, { $0.writeSideShutDown(succeeded: true) }, actions: [.startTimer(milliseconds: 20)], state: .lingering)
        assertTransition(.flushing, { $0.writeSideShutDown(succeeded: false) }, actions: Self.closeActions,
                         state: .closing(abandoned: nil))
        assertIgnored(in: Situation.allCases.filter { $0 != .flushing }) { $0.writeSideShutDown(succeeded: true) }
    }

    func testCloseRequestedClosesAtOnceFromEveryOpenState() {
        for situation in [Situation.reading, .readingIdle, .readingHead, .readingBody, .sendingError, .flushing, .lingering] {
            assertTransition(situation, { $0.closeRequested() }, actions: Self.closeActions, state: .closing(abandoned: nil))
        }
        for situation in [Situation.responding, .respondingThenClose, .respondingPaused] {
            assertTransition(situation, { $0.closeRequested() }, actions: Self.closeWithResponseActions, state: .closing(abandoned: 1))
        }
        assertIgnored(in: [.closing, .closed]) { $0.closeRequested() }
    }

    func testCloseCallbackTellsTheAbandonedResponse() {
        assertTransition(.closing, { $0.streamClosed() }, actions: [.unregister, .fireOnClose(1)], state: .closed)
        var closedWhileReading = Self.machine(.reading)
        _ = closedWhileReading.closeRequested()
        XCTAssertEqual(closedWhileReading.streamClosed(), [.unregister])
        XCTAssertEqual(closedWhileReading.state, .closed)
        assertIgnored(in: [.closed]) { $0.streamClosed() }
    }

    func testSocketClosedByTheLoopItselfClosesTheConnection() {
        assertTransition(.responding, { $0.streamClosed() }, actions: [.closeTimer, .detach(1), .unregister, .fireOnClose(1)],
                         state: .closed)
        for situation in [Situation.reading, .readingBody, .sendingError, .flushing, .lingering] {
            assertTransition(situation, { $0.streamClosed() }, actions: [.closeTimer, .unregister], state: .closed)
        }
    }

    /// A whole keep-alive connection: two requests, then the client's EOF while idle.
    func testKeepAliveConnectionFromStartToClose() {
        var machine = Machine(configuration: Self.configuration())
        XCTAssertEqual(machine.start(), [.startReading, .parse])
        XCTAssertEqual(machine.needsMoreInput(phase: .idle), [.startTimer(milliseconds: 100)])
        XCTAssertEqual(machine.inputBuffered(byteCount: 30), [.parse])
        XCTAssertEqual(machine.requestReceived(Self.get, response: 1, serverIsClosing: false), [.stopTimer, .dispatch(Self.get, 1)])
        XCTAssertEqual(machine.writeRequested([[0]], pendingWriteBytes: 0), [.write([[0]])])
        XCTAssertEqual(machine.responseFinished(), [.parse])
        XCTAssertEqual(machine.requestReceived(Self.get, response: 2, serverIsClosing: false), [.stopTimer, .dispatch(Self.get, 2)])
        XCTAssertEqual(machine.responseFinished(), [.parse])
        XCTAssertEqual(machine.needsMoreInput(phase: .idle), [.startTimer(milliseconds: 600)])
        XCTAssertEqual(machine.closeRequested(), Self.closeActions)
        XCTAssertEqual(machine.streamClosed(), [.unregister])
        XCTAssertEqual(machine.state, .closed)
    }
}
