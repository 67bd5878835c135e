import XCTest
import WireProtocol
@testable import EngineWorker

/// Every event in every state of a worker's gateway connection, without sockets.
final class GatewayConnectionStateMachineTests: XCTestCase {
    private let id = ConnectionID(raw: 7)
    private let request = GenerateRequest(requestID: 3, promptTokenIDs: [1], maxTokens: 1)

    private func serving() -> GatewayConnectionStateMachine {
        var machine = GatewayConnectionStateMachine(connection: id)
        XCTAssertEqual(machine.received(.hello(Hello())), [.acknowledge(Hello())])
        XCTAssertEqual(machine.state, .serving)
        return machine
    }

    func testAwaitingHello() {
        var mismatch = GatewayConnectionStateMachine(connection: id)
        XCTAssertEqual(mismatch.received(.hello(Hello(protocolVersion: 99))),
                       [.refuse(.versionMismatch(local: WireProtocolVersion.current, remote: 99))])
        XCTAssertEqual(mismatch.state, .closing(served: false))
        XCTAssertEqual(mismatch.closed(), [], "the engine never heard of this connection")

        for message: WireMessage in [.generate(request), .cancel(Cancel(requestID: 1)), .statusRequest, .tokens(TokenBatch())] {
            var machine = GatewayConnectionStateMachine(connection: id)
            guard case .refuse(let reply)? = machine.received(message).first else { return XCTFail("\(message) was not refused") }
            XCTAssertEqual(reply.code, .helloRequired)
            XCTAssertEqual(machine.state, .closing(served: false))
            XCTAssertEqual(machine.received(.hello(Hello())), [], "nothing is read once closing")
        }

        var bad = GatewayConnectionStateMachine(connection: id)
        guard case .refuse(let reply)? = bad.receivedBadFrame(.badHeader("x")).first else { return XCTFail() }
        XCTAssertEqual(reply.code, .badFrame)

        var gone = GatewayConnectionStateMachine(connection: id)
        XCTAssertEqual(gone.closed(), [])
        XCTAssertEqual(gone.state, .closed)
    }

    func testServing() {
        var machine = serving()
        XCTAssertEqual(machine.received(.generate(request)), [.submit(.add(request, from: id))])
        XCTAssertEqual(machine.received(.cancel(Cancel(requestID: 3))), [.submit(.cancel(3, from: id))])
        XCTAssertEqual(machine.received(.statusRequest), [.sendStatus])
        for message: WireMessage in [.tokens(TokenBatch()), .statusReply(StatusReply()), .helloAck(HelloAck()),
                                     .error(ErrorReply(requestID: 0, code: .badFrame, message: ""))] {
            guard case .reply(let reply)? = machine.received(message).first else { return XCTFail("\(message)") }
            XCTAssertEqual(reply.code, .unexpectedMessage)
        }
        XCTAssertEqual(machine.state, .serving)

        var twice = serving()
        guard case .refuse(let reply)? = twice.received(.hello(Hello())).first else { return XCTFail() }
        XCTAssertEqual(reply.code, .unexpectedMessage)
        XCTAssertEqual(twice.state, .closing(served: true))
        XCTAssertEqual(twice.closed(), [.submit(.connectionClosed(id))], "its requests are cancelled")

        var left = serving()
        XCTAssertEqual(left.closed(), [.submit(.connectionClosed(id))])
        XCTAssertEqual(left.state, .closed)
    }

    func testClosed() {
        var machine = serving()
        _ = machine.closed()
        XCTAssertEqual(machine.received(.generate(request)), [])
        XCTAssertEqual(machine.receivedBadFrame(.badHeader("x")), [])
        XCTAssertEqual(machine.closed(), [])
    }
}
