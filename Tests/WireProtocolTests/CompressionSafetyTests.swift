import TestSupport
import XCTest
import WireProtocol

/// Compressed payloads cannot crash the decoder or make it allocate more than `maxFrameBytes`.
final class CompressionSafetyTests: XCTestCase {
    private let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    private func assertDecompressionFailed(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        do {
            _ = try decoder.next()
            XCTFail("accepted", file: file, line: line)
        } catch {
            guard case .decompressionFailed = error else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertFalse(decoder.isPoisoned, file: file, line: line)
        }
    }

    func testZipBombIsRejectedByDeclaredSize() throws {
        // 1M zero token ids pack to ~1 MB of protobuf but compress to a few hundred bytes.
        let bomb = WireMessage.tokens(TokenBatch(updates: [TokenUpdate(requestID: 1, tokenIDs: Array(repeating: 0, count: 1 << 20))]))
        let frame = try FrameCodec.encode(bomb, compression: .default)
        XCTAssertEqual(splitFrame(frame).flags, 1)
        XCTAssertLessThan(frame.count, 64 << 10)
        var decoder = FrameDecoder(maxFrameBytes: 64 << 10)
        decoder.feed(frame)
        do {
            _ = try decoder.next()
            XCTFail("bomb accepted")
        } catch {
            guard case .frameTooLarge(let n) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(n, 1 << 20)
        }
        XCTAssertFalse(decoder.isPoisoned)  // the compressed frame was consumed; the stream is in sync
        decoder.feed(try FrameCodec.encode(.statusRequest, compression: .none))
        XCTAssertEqual(try decoder.next(), .statusRequest)
    }

    func testHandCraftedTerabyteDeclarationRejected() {
        // Frame header descriptor 0xE0: 8-byte content size, single segment. Declares 1 TiB; no data follows.
        let size = UInt64(1) << 40
        let zstd = zstdMagic + [0xE0] + (0..<8).map { UInt8((size >> (8 * $0)) & 0xff) }
        var decoder = FrameDecoder()
        decoder.feed(rawFrame(zstd, flags: 1))
        XCTAssertThrowsError(try decoder.next()) { XCTAssertEqual($0 as? WireError, .frameTooLarge(1 << 40)) }
    }

    func testUndeclaredContentSizeRejected() {
        // Descriptor 0x00: no content size field, window descriptor follows; then a last, empty raw block.
        assertDecompressionFailed(rawFrame(zstdMagic + [0x00, 0x00, 0x01, 0x00, 0x00], flags: 1))
    }

    func testNotZstdAtAll() throws {
        let plain = splitFrame(try FrameCodec.encode(sampleMessages[2], compression: .none)).payload
        assertDecompressionFailed(rawFrame(plain, flags: 1))
        assertDecompressionFailed(rawFrame([], flags: 1))
    }

    func testTruncatedZstd() throws {
        let frame = try FrameCodec.encode(largeTokenBatch(count: 10_000), compression: .default)
        let payload = splitFrame(frame).payload
        for cut in [1, 7, payload.count / 2] {
            assertDecompressionFailed(rawFrame(Array(payload.dropLast(cut)), flags: 1))
        }
    }

    func testCorruptedZstdNeverCrashes() throws {
        let frame = try FrameCodec.encode(largeTokenBatch(count: 4_000), compression: CompressionPolicy(enabled: true, thresholdBytes: 0))
        let payload = splitFrame(frame).payload
        var rng = TestRandom(seed: 99)
        var failures = 0
        for i in 0..<400 {
            var corrupt = payload
            let position = i < payload.count ? i : Int(rng.next() % UInt64(payload.count))
            corrupt[position] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            var decoder = FrameDecoder()
            decoder.feed(rawFrame(corrupt, flags: 1))
            do { _ = try decoder.next() } catch {
                failures += 1
                switch error {
                case .decompressionFailed, .malformedMessage, .unknownMessage, .frameTooLarge: break
                default: XCTFail("unexpected \(error)")
                }
            }
        }
        XCTAssertGreaterThan(failures, 0)
    }
}
