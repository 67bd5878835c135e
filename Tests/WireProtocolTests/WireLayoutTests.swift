import XCTest
import WireProtocol

/// Pins the exact bytes on the wire, so that the framing cannot change silently.
final class WireLayoutTests: XCTestCase {
    func testCancelGoldenBytes() throws {
        // header: length 4 (LE), flags 0; payload: Frame.cancel (field 5, LEN) { request_id (field 1) = 5 }
        let frame = try FrameCodec.encode(.cancel(Cancel(requestID: 5)), compression: .default)
        XCTAssertEqual(frame, [0x04, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x02, 0x08, 0x05])
    }

    func testStatusRequestGoldenBytes() throws {
        // Frame.status_request (field 7, LEN) with an empty message.
        XCTAssertEqual(try FrameCodec.encode(.statusRequest, compression: .none), [0x02, 0, 0, 0, 0, 0x3a, 0x00])
    }

    func testLengthIsLittleEndianPayloadOnly() throws {
        let message = WireMessage.generate(GenerateRequest(requestID: 1, promptTokenIDs: Array(repeating: 1000, count: 200),
                                                           maxTokens: 1))
        let frame = try FrameCodec.encode(message, compression: .none)
        let n = frame.count - 5
        XCTAssertGreaterThan(n, 255)
        XCTAssertEqual(Array(frame[0..<4]), [UInt8(n & 0xff), UInt8(n >> 8), 0, 0])
        XCTAssertEqual(WireProtocolVersion.current, 2)
    }
}
