import TestSupport
import XCTest
import WireProtocol

/// Random bytes never crash the decoder; they decode to something or throw.
final class FuzzTests: XCTestCase {
    func testRandomPayloadsNeverCrash() {
        var rng = TestRandom(seed: 2024)
        var thrown = 0
        var decoded = 0
        for i in 0..<2000 {
            let count = Int(rng.next() % 256)
            var payload = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if i % 4 == 0, count > 0 {
                payload[0] = [0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x42][Int(rng.next() % 8)]  // plausible tag
            }
            var decoder = FrameDecoder()
            decoder.feed(rawFrame(payload, flags: i % 3 == 0 ? 1 : 0))
            do {
                if try decoder.next() != nil { decoded += 1 } else { XCTFail("complete frame returned nil") }
            } catch {
                thrown += 1
                XCTAssertFalse(decoder.isPoisoned)
            }
        }
        XCTAssertGreaterThan(thrown, 1000)
        XCTAssertEqual(thrown + decoded, 2000)
    }

    func testMutatedValidPayloadsNeverCrash() throws {
        var rng = TestRandom(seed: 5)
        let payloads = try sampleMessages.map { splitFrame(try FrameCodec.encode($0, compression: .none)).payload }
        for _ in 0..<2000 {
            var p = payloads[Int(rng.next() % UInt64(payloads.count))]
            guard !p.isEmpty else { continue }
            for _ in 0..<(1 + rng.next() % 3) {
                p[Int(rng.next() % UInt64(p.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            var decoder = FrameDecoder()
            decoder.feed(rawFrame(p))
            _ = try? decoder.next()
        }
    }

    func testRandomByteStreamEitherDecodesOrPoisons() {
        // Raw garbage as a stream (headers included): the decoder must end up poisoned or consume everything.
        var rng = TestRandom(seed: 77)
        for _ in 0..<200 {
            let bytes = (0..<Int(rng.next() % 2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var decoder = FrameDecoder(maxFrameBytes: 4096)
            decoder.feed(bytes)
            var steps = 0
            while steps < 10_000 {
                steps += 1
                do { if try decoder.next() == nil { break } } catch { if decoder.isPoisoned { break } }
            }
            XCTAssertLessThan(steps, 10_000)
        }
    }
}
