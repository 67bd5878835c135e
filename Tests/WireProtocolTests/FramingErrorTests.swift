import XCTest
import WireProtocol

/// Bad frames throw; framing errors poison the decoder, payload errors skip one frame.
final class FramingErrorTests: XCTestCase {
    private func expect(_ expected: WireError, _ decoder: inout FrameDecoder, file: StaticString = #filePath,
                        line: UInt = #line) {
        do {
            let m = try decoder.next()
            XCTFail("expected \(expected), got \(String(describing: m))", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    private func expectMalformed(_ decoder: inout FrameDecoder, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let m = try decoder.next()
            XCTFail("expected malformedMessage, got \(String(describing: m))", file: file, line: line)
        } catch {
            guard case .malformedMessage = error else { return XCTFail("\(error)", file: file, line: line) }
        }
    }

    func testFrameTooLargePoisons() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1000)
        decoder.feed(rawFrame([], declaredLength: 1001))
        expect(.frameTooLarge(1001), &decoder)
        XCTAssertTrue(decoder.isPoisoned)
        decoder.feed(try FrameCodec.encode(.statusRequest, compression: .none))
        expect(.frameTooLarge(1001), &decoder)  // keeps throwing: the stream is out of sync
    }

    func testLimitIsInclusive() throws {
        let frame = try FrameCodec.encode(.cancel(Cancel(requestID: 9)), compression: .none)
        XCTAssertEqual(try decodeAll(frame, maxFrameBytes: frame.count - 5), [.cancel(Cancel(requestID: 9))])
    }

    func testHugeDeclaredLengthRejectedBeforeBuffering() {
        var decoder = FrameDecoder()
        decoder.feed([0xff, 0xff, 0xff, 0xff, 0x00])
        expect(.frameTooLarge(Int(UInt32.max)), &decoder)
    }

    func testReservedFlagBitsPoison() throws {
        for flags: UInt8 in [0x02, 0x80, 0x03, 0xff] {
            var decoder = FrameDecoder()
            let good = try FrameCodec.encode(.statusRequest, compression: .none)
            decoder.feed(rawFrame(splitFrame(good).payload, flags: flags))
            do {
                _ = try decoder.next()
                XCTFail("flags \(flags) accepted")
            } catch {
                guard case .badHeader = error else { return XCTFail("\(error)") }
            }
            XCTAssertTrue(decoder.isPoisoned)
            decoder.feed(good)
            XCTAssertThrowsError(try decoder.next())
        }
    }

    func testTruncatedProtobufSkipsOneFrame() throws {
        let message = WireMessage.generate(GenerateRequest(requestID: 77, promptTokenIDs: Array(1...50), maxTokens: 5))
        let payload = splitFrame(try FrameCodec.encode(message, compression: .none)).payload
        var decoder = FrameDecoder()
        for cut in [1, 3, 10, payload.count - 1] {
            decoder.feed(rawFrame(Array(payload.dropLast(cut))))
            expectMalformed(&decoder)
            XCTAssertFalse(decoder.isPoisoned)
        }
        decoder.feed(try FrameCodec.encode(message, compression: .none))
        XCTAssertEqual(try decoder.next(), message)  // still in sync
    }

    func testEmptyOneofIsMalformed() throws {
        var decoder = FrameDecoder()
        decoder.feed(rawFrame([]))
        expectMalformed(&decoder)
        decoder.feed(try FrameCodec.encode(.statusRequest, compression: .none))
        XCTAssertEqual(try decoder.next(), .statusRequest)
    }

    func testUnknownBodyKindIsUnknownMessage() throws {
        // Frame field 9 (LEN, empty): a body a future protocol might add.
        var decoder = FrameDecoder()
        decoder.feed(rawFrame([0x4a, 0x00]))
        expect(.unknownMessage, &decoder)
        decoder.feed(try FrameCodec.encode(.statusRequest, compression: .none))
        XCTAssertEqual(try decoder.next(), .statusRequest)
    }

    func testUnknownFinishReasonIsMalformed() {
        // Frame.tokens { updates { request_id: 1, finish_reason: 9 } }
        var decoder = FrameDecoder()
        decoder.feed(rawFrame([0x22, 0x06, 0x0a, 0x04, 0x08, 0x01, 0x18, 0x09]))
        expectMalformed(&decoder)
    }

    func testWrongWireTypeThrows() {
        var decoder = FrameDecoder()
        decoder.feed(rawFrame([0x08, 0x01]))  // field 1 (hello, a message) sent as a varint
        XCTAssertThrowsError(try decoder.next())
    }
}
