import XCTest
import Foundation
import Logging
import WireProtocol
@testable import Gateway

/// The gateway's side of the handshake: a worker that refuses it (protocol version mismatch) is reported, the
/// client keeps reconnecting, and a worker that accepts clears the refusal.
final class WorkerClientTests: XCTestCase {
    /// Loop-thread state: the client under test and what the test reads back.
    private final class ClientBox: @unchecked Sendable {
        var client: WorkerClient?
    }

    /// Runs `body` with a stand-in worker's listener and a started client on a loop thread, then stops both.
    private func withClient(stallTimeoutMilliseconds: UInt64, _ body: (UnixSocketListener, LoopRunner, ClientBox) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-wc-\(getpid()).sock").path
        let listener = try UnixSocketListener(path: path)
        defer { listener.close() }
        let runner = try LoopRunner()
        let box = ClientBox()
        runner.start()
        defer {
            runner.sync {
                box.client?.close()
                box.client = nil
            }
            runner.finish()
        }
        runner.sync {
            box.client = WorkerClient(loop: runner.loop, socketPath: path, stallTimeoutMilliseconds: stallTimeoutMilliseconds,
                                      log: Logger(label: "test"))
            box.client?.start()
        }
        try body(listener, runner, box)
    }

    func testRefusalIsReportedAndClearedByTheNextHandshake() throws {
        try withClient(stallTimeoutMilliseconds: 10_000) { listener, runner, box in

            // First attempt: an incompatible worker answers the Hello with a version mismatch and hangs up.
            let refusing = try listener.accept(timeout: .seconds(10))
            guard case .hello(let hello) = try refusing.receive(timeout: .seconds(10)) else { return XCTFail("expected Hello") }
            try refusing.send(.error(.versionMismatch(local: hello.protocolVersion + 1, remote: hello.protocolVersion)))
            refusing.close()

            // The client reconnects; by then it has recorded the refusal and is not ready.
            let accepting = try listener.accept(timeout: .seconds(10))
            defer { accepting.close() }
            let state = Shared<(refusal: String?, ready: Bool)>((nil, true))
            runner.sync { state.value = (box.client?.refusal, box.client?.isReady ?? true) }
            XCTAssertEqual(state.value.refusal?.hasPrefix(ErrorCode.versionMismatch.name), true, "\(state.value)")
            XCTAssertFalse(state.value.ready)

            // A compatible worker: the handshake succeeds (the client's first status request proves it), the refusal is gone.
            guard case .hello = try accepting.receive(timeout: .seconds(10)) else { return XCTFail("expected Hello") }
            try accepting.send(.helloAck(HelloAck(modelID: "m", vocabSize: 10, maxContext: 64, maxSequences: 4)))
            guard case .statusRequest = try accepting.receive(timeout: .seconds(10)) else { return XCTFail("expected a status request") }
            runner.sync { state.value = (box.client?.refusal, box.client?.isReady ?? false) }
            XCTAssertNil(state.value.refusal)
            XCTAssertTrue(state.value.ready)
        }
    }

    /// A worker that stops sending heartbeats is stalled after the timeout: in-flight requests fail and are
    /// cancelled on the worker, the client is not serving; the next heartbeat ends the stall.
    func testSilentWorkerIsStalledUntilItsNextHeartbeat() throws {
        let events = Shared<[WorkerEvent]>([])
        let recovered = DispatchSemaphore(value: 0)
        try withClient(stallTimeoutMilliseconds: 200) { listener, runner, box in
            let worker = try listener.accept(timeout: .seconds(10))
            defer { worker.close() }
            guard case .hello = try worker.receive(timeout: .seconds(10)) else { return XCTFail("expected Hello") }
            try worker.send(.helloAck(HelloAck(modelID: "m", vocabSize: 10, maxContext: 64, maxSequences: 4, heartbeatIntervalMilliseconds: 50)))
            guard case .statusRequest = try worker.receive(timeout: .seconds(10)) else { return XCTFail("expected a status request") }
            let submitted = Shared(false)
            runner.sync {
                submitted.value = box.client?.submit(GenerateRequest(requestID: 5, promptTokenIDs: [1], maxTokens: 4)) { event in
                    events.value.append(event)
                } ?? false
            }
            XCTAssertTrue(submitted.value)
            guard case .generate = try worker.receive(timeout: .seconds(10)) else { return XCTFail("expected the request") }

            // No heartbeat: after 200 ms the client cancels the request on the worker and fails it.
            XCTAssertEqual(try worker.receive(timeout: .seconds(10)), .cancel(Cancel(requestID: 5)))
            let state = Shared<(stall: String?, serving: Bool, failed: OpenAIError?)>((nil, true, nil))
            runner.sync {
                var failure: OpenAIError?
                if case .failed(let error)? = events.value.first { failure = error }
                state.value = (box.client?.stall, box.client?.isServing ?? true, failure)
                box.client?.onCapacityChanged = { recovered.signal() }
            }
            XCTAssertTrue(state.value.stall?.contains("no heartbeat") ?? false, "\(state.value)")
            XCTAssertFalse(state.value.serving)
            XCTAssertEqual(state.value.failed?.status, 503)
            XCTAssertTrue(state.value.failed?.message.contains("stalled") ?? false)

            // A heartbeat from an idle worker ends the stall.
            try worker.send(.statusReply(StatusReply()))
            XCTAssertEqual(recovered.wait(timeout: .now() + 10), .success, "the heartbeat did not end the stall")
            runner.sync { state.value = (box.client?.stall, box.client?.isServing ?? false, nil) }
            XCTAssertNil(state.value.stall)
            XCTAssertTrue(state.value.serving)
        }
    }
}
