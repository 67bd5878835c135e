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

    func testRefusalIsReportedAndClearedByTheNextHandshake() throws {
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
            box.client = WorkerClient(loop: runner.loop, socketPath: path, log: Logger(label: "test"))
            box.client?.start()
        }

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
        XCTAssertEqual(state.value.refusal?.hasPrefix(ErrorReply.versionMismatchCode), true, "\(state.value)")
        XCTAssertFalse(state.value.ready)

        // A compatible worker: the handshake succeeds (the client's status poll proves it), the refusal is gone.
        guard case .hello = try accepting.receive(timeout: .seconds(10)) else { return XCTFail("expected Hello") }
        try accepting.send(.helloAck(HelloAck(modelID: "m", vocabSize: 10, maxContext: 64, maxSequences: 4)))
        guard case .statusRequest = try accepting.receive(timeout: .seconds(10)) else { return XCTFail("expected a status request") }
        runner.sync { state.value = (box.client?.refusal, box.client?.isReady ?? false) }
        XCTAssertNil(state.value.refusal)
        XCTAssertTrue(state.value.ready)
    }
}
