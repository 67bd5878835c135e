import XCTest
import WireProtocol

/// The handshake rejects peers that speak another protocol version.
final class VersionCheckTests: XCTestCase {
    func testMatchingVersionPasses() throws {
        try checkVersion(Hello())
        try checkVersion(HelloAck())
    }

    func testMismatchThrows() {
        XCTAssertThrowsError(try checkVersion(Hello(protocolVersion: 1))) {
            XCTAssertEqual($0 as? WireError, .versionMismatch(local: WireProtocolVersion.current, remote: 1))
        }
        XCTAssertThrowsError(try checkVersion(HelloAck(protocolVersion: 0))) {
            XCTAssertEqual($0 as? WireError, .versionMismatch(local: WireProtocolVersion.current, remote: 0))
        }
        XCTAssertThrowsError(try checkVersion(Hello(protocolVersion: 1), local: 3))
    }

    func testMismatchReplyIsConnectionLevelAndRoundTrips() throws {
        let reply = ErrorReply.versionMismatch(local: 1, remote: 2)
        XCTAssertEqual(reply.requestID, 0)
        XCTAssertEqual(reply.code, .versionMismatch)
        XCTAssertEqual(try decodeAll(FrameCodec.encode(.error(reply), compression: .none)), [.error(reply)])
    }

    func testHandshakeOverSocketPair() throws {
        let (gateway, worker) = try BlockingFrameSocket.pair()
        try gateway.send(.hello(Hello(protocolVersion: 99, clientName: "future-gateway")))
        guard case .hello(let hello) = try worker.receive(timeout: .seconds(5)) else { return XCTFail() }
        do {
            try checkVersion(hello)
            XCTFail("accepted")
        } catch .versionMismatch(let local, let remote) {
            try worker.send(.error(.versionMismatch(local: local, remote: remote)))
            worker.close()
        }
        XCTAssertEqual(try gateway.receive(timeout: .seconds(5)), .error(.versionMismatch(local: WireProtocolVersion.current, remote: 99)))
        XCTAssertThrowsError(try gateway.receive(timeout: .seconds(5))) {
            XCTAssertEqual($0 as? WireError, .connectionClosed(bufferedBytes: 0))
        }
    }
}
