import XCTest
import WireProtocol

/// Every message kind survives encode → decode, compressed and not.
final class RoundTripTests: XCTestCase {
    func testEveryKindUncompressed() throws {
        for message in sampleMessages {
            let frame = try FrameCodec.encode(message, compression: .none)
            XCTAssertEqual(splitFrame(frame).flags, 0)
            XCTAssertEqual(splitFrame(frame).length, frame.count - FrameCodec.headerSize)
            XCTAssertEqual(try decodeAll(frame), [message])
        }
    }

    func testEveryKindCompressedWithZeroThreshold() throws {
        let policy = CompressionPolicy(enabled: true, thresholdBytes: 0, level: 3)
        for message in sampleMessages {
            let frame = try FrameCodec.encode(message, compression: policy)
            // Tiny payloads do not shrink, so they stay uncompressed; either way they must round-trip.
            XCTAssertEqual(try decodeAll(frame), [message], "\(message)")
        }
    }

    func testLargeTokenBatchCompressesAndRoundTrips() throws {
        let message = largeTokenBatch(count: 100_000)
        let plain = try FrameCodec.encode(message, compression: .none)
        let packed = try FrameCodec.encode(message, compression: .default)
        XCTAssertEqual(splitFrame(plain).flags, 0)
        XCTAssertEqual(splitFrame(packed).flags, 1)
        XCTAssertLessThan(packed.count, plain.count)
        XCTAssertEqual(try decodeAll(plain), [message])
        XCTAssertEqual(try decodeAll(packed), [message])
    }

    func testThresholdIsRespected() throws {
        let message = WireMessage.generate(GenerateRequest(requestID: 1, promptTokenIDs: Array(repeating: 3, count: 3000),
                                                           maxTokens: 8))
        let payloadSize = try FrameCodec.encode(message, compression: .none).count - FrameCodec.headerSize
        let below = CompressionPolicy(enabled: true, thresholdBytes: payloadSize)
        let above = CompressionPolicy(enabled: true, thresholdBytes: payloadSize - 1)
        XCTAssertEqual(splitFrame(try FrameCodec.encode(message, compression: below)).flags, 0)
        XCTAssertEqual(splitFrame(try FrameCodec.encode(message, compression: above)).flags, 1)
        XCTAssertEqual(CompressionPolicy.negotiated(peerAcceptsZstd: false), .none)
        XCTAssertEqual(CompressionPolicy.negotiated(peerAcceptsZstd: true), .default)
    }

    func testStringWithNULIsRejectedNotTruncated() {
        let message = WireMessage.error(ErrorReply(requestID: 1, code: .badFrame, message: "a\u{0}b"))
        XCTAssertThrowsError(try FrameCodec.encode(message, compression: .none)) { error in
            guard case WireError.unencodable = error else { return XCTFail("\(error)") }
        }
    }
}
