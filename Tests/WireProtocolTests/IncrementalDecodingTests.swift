import TestSupport
import XCTest
import WireProtocol

/// The decoder reassembles frames from arbitrary chunks, as stream sockets deliver them.
final class IncrementalDecodingTests: XCTestCase {
    private func stream(compressedToo: Bool) throws -> (bytes: [UInt8], messages: [WireMessage]) {
        var messages = sampleMessages + [largeTokenBatch(count: 20_000)]
        var bytes: [UInt8] = []
        for m in messages { bytes += try FrameCodec.encode(m, compression: .none) }
        if compressedToo {
            for m in sampleMessages + [largeTokenBatch(count: 20_000)] {
                bytes += try FrameCodec.encode(m, compression: CompressionPolicy(enabled: true, thresholdBytes: 16))
            }
            messages += sampleMessages + [largeTokenBatch(count: 20_000)]
        }
        return (bytes, messages)
    }

    func testByteByByte() throws {
        let (bytes, messages) = try stream(compressedToo: true)
        var decoder = FrameDecoder()
        var out: [WireMessage] = []
        for b in bytes {
            decoder.feed([b])
            while let m = try decoder.next() { out.append(m) }
        }
        XCTAssertEqual(out, messages)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testRandomChunkSizes() throws {
        let (bytes, messages) = try stream(compressedToo: true)
        var rng = TestRandom(seed: 0xC0FFEE)
        for _ in 0..<20 {
            var decoder = FrameDecoder()
            var out: [WireMessage] = []
            var i = 0
            while i < bytes.count {
                let n = min(bytes.count - i, Int(rng.next() % 9000) + 1)
                bytes[i..<i + n].withUnsafeBytes { decoder.feed($0) }
                i += n
                while let m = try decoder.next() { out.append(m) }
            }
            XCTAssertEqual(out, messages)
        }
    }

    func testTwoFramesInOneBuffer() throws {
        let a = WireMessage.cancel(Cancel(requestID: 1))
        let b = WireMessage.statusRequest
        var decoder = FrameDecoder()
        decoder.feed(try FrameCodec.encode(a, compression: .none) + FrameCodec.encode(b, compression: .none))
        XCTAssertEqual(try decoder.next(), a)
        XCTAssertEqual(try decoder.next(), b)
        XCTAssertNil(try decoder.next())
    }

    func testNilUntilComplete() throws {
        let frame = try FrameCodec.encode(.cancel(Cancel(requestID: 300)), compression: .none)
        var decoder = FrameDecoder()
        decoder.feed(Array(frame.dropLast()))
        XCTAssertNil(try decoder.next())
        XCTAssertNil(try decoder.next())
        XCTAssertEqual(decoder.bufferedByteCount, frame.count - 1)
        decoder.feed([frame.last!])
        XCTAssertEqual(try decoder.next(), .cancel(Cancel(requestID: 300)))
    }
}
