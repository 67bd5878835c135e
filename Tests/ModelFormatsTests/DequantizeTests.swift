import XCTest
@testable import ModelFormats

/// Hand-built quantised blocks (fp16 scale bits written explicitly) and fp16/bf16 bit patterns decode to exactly
/// the values llama.cpp / numpy produce.
final class DequantizeTests: XCTestCase {
    private func decode(_ type: TensorType, _ bytes: [UInt8], count: Int, sourceOffset: Int = 0) -> [Float] {
        XCTAssertEqual(type.byteCount(elements: count), bytes.count - sourceOffset)
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { raw in
            Dequantize.decode(type, from: raw.baseAddress! + sourceOffset, count: count, into: &out)
        }
        return out
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

    func testQ8_0Blocks() {
        // Block 0: scale 0.5 (fp16 0x3800), q = j - 16, with the extremes -128 and 127.
        var q0 = (0..<32).map { Int8($0 - 16) }
        q0[0] = -128; q0[31] = 127
        // Block 1: scale 0x2E66 = 0.0999755859375 (not a round decimal), q = 3, -1, 0, ...
        let pattern: [Int8] = [3, -1, 0, 100]
        let q1: [Int8] = (0..<32).map { pattern[$0 % 4] }
        let block0: [UInt8] = le16(0x3800) + q0.map { UInt8(bitPattern: $0) }
        let block1: [UInt8] = le16(0x2E66) + q1.map { UInt8(bitPattern: $0) }
        let bytes = block0 + block1
        let out = decode(.q8_0, bytes, count: 64)
        XCTAssertEqual(Array(out[0..<32]), q0.map { 0.5 * Float($0) })
        XCTAssertEqual(out[0], -64)
        XCTAssertEqual(out[31], 63.5)
        let d1 = 0.0999755859375
        XCTAssertEqual(Array(out[32..<64]), q1.map { Float(d1 * Double($0)) })
        XCTAssertEqual(out[32], 0.2999267578125)
        XCTAssertEqual(out[35], 9.99755859375)
    }

    func testQ4_0Block() {
        // Scale 2.0 (fp16 0x4000). Byte j holds element j in its low nibble and element j+16 in its high nibble.
        let nibbles: [UInt8] = (0..<16).map { (j: Int) -> UInt8 in UInt8(j) | UInt8(15 - j) << 4 }
        let out = decode(.q4_0, le16(0x4000) + nibbles, count: 32)
        let lowHalf: [Float] = (0..<16).map { (j: Int) -> Float in Float(2 * (j - 8)) }
        let highHalf: [Float] = (0..<16).map { (j: Int) -> Float in Float(2 * (7 - j)) }
        let expected = lowHalf + highHalf
        XCTAssertEqual(out, expected)
        XCTAssertEqual(out[0], -16)
        XCTAssertEqual(out[15], 14)
        XCTAssertEqual(out[16], 14)
    }

    func testQ4_1Block() {
        // d = 0.25 (0x3400), m = -1.25 (0xBD00): value = d·q + m.
        let lows = (0..<16).map { UInt8($0) }, highs = (0..<16).map { UInt8(($0 * 7) % 16) }
        let packed: [UInt8] = zip(lows, highs).map { (low: UInt8, high: UInt8) -> UInt8 in low | high << 4 }
        let bytes: [UInt8] = le16(0x3400) + le16(0xBD00) + packed
        let out = decode(.q4_1, bytes, count: 32)
        XCTAssertEqual(out, lows.map { 0.25 * Float($0) - 1.25 } + highs.map { 0.25 * Float($0) - 1.25 })
        XCTAssertEqual(out[0], -1.25)
        XCTAssertEqual(out[15], 2.5)
        // A second block with a non-dyadic minimum: m = 0x2E66 = 0.0999755859375, d = 1.0 (0x3C00).
        let second: [UInt8] = le16(0x3C00) + le16(0x2E66) + [UInt8](repeating: 0x5A, count: 16)   // low 10, high 5
        let out2 = decode(.q4_1, bytes + second, count: 64)
        XCTAssertEqual(out2[32], Float(10 + 0.0999755859375))
        XCTAssertEqual(out2[48], Float(5 + 0.0999755859375))
    }

    func testF16ExactWidening() {
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x3555, 0.333251953125),
            (0x0001, 5.9604644775390625e-08),   // smallest subnormal, 2^-24
            (0x0400, 6.103515625e-05),          // smallest normal, 2^-14
            (0x7C00, .infinity), (0xFC00, -.infinity), (0x0000, 0),
        ]
        let bytes: [UInt8] = [0xEE] + cases.flatMap { le16($0.0) }   // leading byte: decode from an odd address
        let out = decode(.f16, bytes, count: cases.count, sourceOffset: 1)
        XCTAssertEqual(out, cases.map(\.1))
        let negativeZero = decode(.f16, le16(0x8000), count: 1)[0]
        XCTAssertTrue(negativeZero == 0 && negativeZero.sign == .minus)
        XCTAssertTrue(decode(.f16, le16(0x7E00), count: 1)[0].isNaN)
    }

    func testBF16ExactWidening() {
        let cases: [(UInt16, Float)] = [
            (0x3F80, 1), (0xC040, -3), (0x4049, 3.140625), (0x3E2A, 0.166015625),
            (0x0001, Float(bitPattern: 0x0001_0000)),   // subnormal
            (0x7F7F, Float(bitPattern: 0x7F7F_0000)),   // largest finite bf16
            (0x7F80, .infinity), (0xFF80, -.infinity),
        ]
        let bytes: [UInt8] = [0x11] + cases.flatMap { le16($0.0) }
        XCTAssertEqual(decode(.bf16, bytes, count: cases.count, sourceOffset: 1), cases.map(\.1))
        XCTAssertEqual(Float(bitPattern: 0x7F7F_0000), 3.3895313892515355e38)
    }

    func testF32FromUnalignedOffset() {
        let values: [Float] = [1.5, -0.0, .pi, .leastNonzeroMagnitude, -7]
        let encoded: [UInt8] = values.flatMap { (v: Float) -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let bytes: [UInt8] = [0, 0, 0] + encoded
        let out = decode(.f32, bytes, count: values.count, sourceOffset: 3)
        XCTAssertEqual(out.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testBlockGeometry() {
        XCTAssertEqual(TensorType.q8_0.byteCount(elements: 64), 68)
        XCTAssertEqual(TensorType.q4_0.byteCount(elements: 32), 18)
        XCTAssertEqual(TensorType.q4_1.byteCount(elements: 96), 60)
        XCTAssertNil(TensorType.q4_1.byteCount(elements: 33))
        XCTAssertEqual(TensorType.bf16.byteCount(elements: 3), 6)
        XCTAssertNil(TensorType.f32.byteCount(elements: Int.max))
        XCTAssertEqual(TensorType(ggmlType: 3), .q4_1)
        XCTAssertEqual(TensorType(ggmlType: 12), .q4_K)
        XCTAssertEqual(TensorType.q4_K.byteCount(elements: 512), 288)
        XCTAssertNil(TensorType.q4_K.byteCount(elements: 32))
        XCTAssertNil(TensorType(ggmlType: 15))   // Q8_K: an activation type, not read from files
    }
}
