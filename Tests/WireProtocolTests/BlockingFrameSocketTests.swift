import XCTest
import Dispatch
import WireProtocol

/// Whole messages travel over a connected socket pair with the blocking helper.
final class BlockingFrameSocketTests: XCTestCase {
    func testEveryKindBothDirections() throws {
        let (a, b) = try BlockingFrameSocket.pair()
        for m in sampleMessages {
            try a.send(m)
            XCTAssertEqual(try b.receive(timeout: .seconds(5)), m)
            try b.send(m)
            XCTAssertEqual(try a.receive(timeout: .seconds(5)), m)
        }
    }

    func testLargeMessagesWithConcurrentReader() throws {
        let (a, b) = try BlockingFrameSocket.pair()
        a.compression = .default
        let messages = [largeTokenBatch(count: 100_000), .statusRequest, largeTokenBatch(count: 50_000)]
        let done = DispatchSemaphore(value: 0)
        let sendResult = SendResult()
        DispatchQueue.global().async {
            do {
                for m in messages { try a.send(m) }
                a.compression = .none
                try a.send(messages[0])  // ~300 kB uncompressed: more than the socket buffer holds
            } catch { sendResult.error = error }
            done.signal()
        }
        for m in messages + [messages[0]] {
            XCTAssertEqual(try b.receive(timeout: .seconds(30)), m)
        }
        done.wait()
        XCTAssertNil(sendResult.error)
    }

    func testTimeoutKeepsPartialFrame() throws {
        let (a, b) = try BlockingFrameSocket.pair()
        XCTAssertThrowsError(try b.receive(timeout: .zero)) { XCTAssertEqual($0 as? WireError, .timedOut) }
        let frame = try FrameCodec.encode(.cancel(Cancel(requestID: 4)), compression: .none)
        try a.send(encodedFrame: Array(frame.prefix(3)))
        XCTAssertThrowsError(try b.receive(timeout: .milliseconds(1))) { XCTAssertEqual($0 as? WireError, .timedOut) }
        try a.send(encodedFrame: Array(frame.dropFirst(3)))
        XCTAssertEqual(try b.receive(timeout: .seconds(5)), .cancel(Cancel(requestID: 4)))
    }

    func testPeerCloseMidFrameReportsBufferedBytes() throws {
        let (a, b) = try BlockingFrameSocket.pair()
        let frame = try FrameCodec.encode(.cancel(Cancel(requestID: 4)), compression: .none)
        try a.send(encodedFrame: Array(frame.prefix(6)))
        a.close()
        XCTAssertThrowsError(try b.receive(timeout: .seconds(5))) {
            XCTAssertEqual($0 as? WireError, .connectionClosed(bufferedBytes: 6))
        }
    }

    func testBadFrameFromPeerKeepsThrowing() throws {
        let (a, b) = try BlockingFrameSocket.pair()
        try a.send(encodedFrame: rawFrame([0x3a, 0x00], flags: 0x40))
        try a.send(.statusRequest)
        for _ in 0..<2 {
            XCTAssertThrowsError(try b.receive(timeout: .seconds(5))) { error in
                guard case WireError.badHeader = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testSendAfterPeerClosedThrowsInsteadOfSIGPIPE() throws {
        let (a, b) = try BlockingFrameSocket.pair()
        b.close()
        XCTAssertThrowsError(try a.send(.statusRequest)) { error in
            guard case WireError.system(_, let code) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, EPIPE)
        }
    }

    func testShutdownWakesBlockedReceiver() throws {
        let (a, _) = try BlockingFrameSocket.pair()
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let result = SendResult()
        DispatchQueue.global().async {
            started.signal()
            do { _ = try a.receive() } catch { result.error = error }
            finished.signal()
        }
        started.wait()
        // Whether shutdown lands before or during the blocking read, receive ends with connectionClosed.
        a.shutdown()
        finished.wait()
        XCTAssertEqual(result.error as? WireError, .connectionClosed(bufferedBytes: 0))
        a.close()
        XCTAssertEqual(a.fileDescriptor, -1)
        a.close()  // idempotent
    }
}

/// Carries an error out of a background closure (guarded by the semaphores in the tests).
final class SendResult: @unchecked Sendable {
    var error: Error?
}
