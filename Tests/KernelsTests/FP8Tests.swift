import BLAS
import TestSupport
import XCTest
@testable import Kernels

/// E4M3 encoding/decoding, per-row quantisation and the fp8 linear kernel.
final class FP8E4M3Tests: XCTestCase {
    func testDecodeKnownCodes() {
        let cases: [(UInt8, Float)] = [
            (0x00, 0), (0x01, 0x1p-9), (0x07, 7 * 0x1p-9), (0x08, 0x1p-6), (0x0F, 1.875 * 0x1p-6),
            (0x38, 1), (0x39, 1.125), (0x3F, 1.875), (0x40, 2), (0x7E, 448), (0x77, 240), (0x78, 256),
            (0x81, -0x1p-9), (0xB8, -1), (0xFE, -448),
        ]
        for (code, value) in cases { XCTAssertEqual(FP8E4M3.decode(code), value, "code \(code)") }
        XCTAssertEqual(FP8E4M3.decode(0x80), 0)
        XCTAssertEqual(FP8E4M3.decode(0x80).sign, .minus, "0x80 is -0")
        XCTAssertTrue(FP8E4M3.decode(0x7F).isNaN)
        XCTAssertTrue(FP8E4M3.decode(0xFF).isNaN)
        XCTAssertEqual((0..<256).filter { FP8E4M3.decode(UInt8($0)).isNaN }, [0x7F, 0xFF], "no other NaN, no infinities")
        XCTAssertFalse(FP8E4M3.table.contains { $0.isInfinite })
    }

    /// decode → encode is the identity for all 254 non-NaN codes (±0 included), and decoding is strictly
    /// increasing over the positive codes.
    func testExhaustiveRoundTrip() {
        for code in 0...255 {
            let c = UInt8(code)
            if FP8E4M3.isNaN(c) { continue }
            XCTAssertEqual(FP8E4M3.encode(FP8E4M3.decode(c)), c, "code \(String(c, radix: 16))")
        }
        for code in 0..<0x7E { XCTAssertLessThan(FP8E4M3.decode(UInt8(code)), FP8E4M3.decode(UInt8(code + 1))) }
        XCTAssertEqual(FP8E4M3.encode(.nan), 0x7F)
        XCTAssertTrue(FP8E4M3.isNaN(FP8E4M3.encode(-.nan)))
    }

    /// The midpoint between two neighbouring codes goes to the one with the even mantissa; anything off the
    /// midpoint by one float ulp goes to the nearer code. Covers the subnormal/normal boundary and binades.
    func testMidpointsRoundToEven() {
        for code in 0..<0x7E {
            let low = UInt8(code), high = UInt8(code + 1)
            let a = FP8E4M3.decode(low), b = FP8E4M3.decode(high)
            let mid = (a + b) / 2                       // exact: few significant bits
            let even = low & 1 == 0 ? low : high
            XCTAssertEqual(FP8E4M3.encode(mid), even, "midpoint of \(a) and \(b)")
            XCTAssertEqual(FP8E4M3.encode(-mid), even | 0x80, "midpoint of \(-a) and \(-b)")
            XCTAssertEqual(FP8E4M3.encode(mid.nextDown), low)
            XCTAssertEqual(FP8E4M3.encode(mid.nextUp), high)
        }
    }

    func testSaturation() {
        for x: Float in [448, 448.5, 463.9, 464, 479, 480, 500, 1e6, .greatestFiniteMagnitude, .infinity] {
            XCTAssertEqual(FP8E4M3.encode(x), 0x7E, "\(x)")
            XCTAssertEqual(FP8E4M3.encode(-x), 0xFE, "\(-x)")
        }
        XCTAssertEqual(FP8E4M3.encode(432), 0x7E, "432 is the midpoint of 416 and 448: ties to even (0x7E)")
        XCTAssertEqual(FP8E4M3.encode(431.9), 0x7D)
    }

    func testSubnormals() {
        XCTAssertEqual(FP8E4M3.encode(0x1p-9), 0x01)
        XCTAssertEqual(FP8E4M3.encode(0x1p-10), 0x00, "half the smallest subnormal ties to zero (even)")
        XCTAssertEqual(FP8E4M3.encode(Float(0x1p-10).nextUp), 0x01)
        XCTAssertEqual(FP8E4M3.encode(3 * 0x1p-10), 0x02, "1.5 steps ties to 2 (even)")
        XCTAssertEqual(FP8E4M3.encode(5 * 0x1p-10), 0x02, "2.5 steps ties to 2 (even)")
        XCTAssertEqual(FP8E4M3.encode(15 * 0x1p-10), 0x08, "7.5 steps ties to the smallest normal")
        XCTAssertEqual(FP8E4M3.encode(-6 * 0x1p-9), 0x86)
        XCTAssertEqual(FP8E4M3.encode(1e-30), 0x00)
        XCTAssertEqual(FP8E4M3.encode(.leastNonzeroMagnitude), 0x00)
        XCTAssertEqual(FP8E4M3.encode(-1e-30), 0x80)
        XCTAssertEqual(FP8E4M3.encode(0), 0x00)
        XCTAssertEqual(FP8E4M3.encode(-0.0), 0x80)
    }

    /// Against a brute-force search: the encoding is the nearest code (ties to even) for values spread over
    /// every binade and both signs.
    func testEncodeIsNearestCode() {
        var rng = TestRandom(seed: 7)
        let positives = (0...0x7E).map { FP8E4M3.decode(UInt8($0)) }
        for _ in 0..<20_000 {
            let x = rng.float(-1, 1) * Float(sign: .plus, exponent: Int(rng.next() % 20) - 11, significand: 1)
            let a = abs(x)
            var best = 0
            for c in 1..<positives.count {
                let d = abs(Double(positives[c]) - Double(a)), e = abs(Double(positives[best]) - Double(a))
                if d < e || (d == e && c & 1 == 0) { best = c }
            }
            let expected = UInt8(best) | (x.sign == .minus ? 0x80 : 0)
            XCTAssertEqual(FP8E4M3.encode(x), expected, "\(x)")
        }
    }
}

final class FP8MatrixTests: XCTestCase {
    func testPerRowScaleAndQuantisation() {
        let values: [Float] = [0.5, -2, 1, 0.25,    // max |x| = 2
                               0, 0, 0, 0,          // all zero
                               1e-3, 3e-3, -1e-3, 2e-3]
        let m = values.withUnsafeBufferPointer { FP8Matrix(rows: 3, columns: 4, values: $0.baseAddress!) }
        XCTAssertEqual(m.scales[0], 2 / 448)
        XCTAssertEqual(m.scales[1], 0)
        XCTAssertEqual(m.scales[2], 3e-3 / 448)
        XCTAssertEqual(m.codes[m.codeIndex(row: 0, column: 1)], 0xFE, "the largest magnitude of a row maps to ±448")
        XCTAssertEqual(m.codes[m.codeIndex(row: 1, column: 2)], 0x00)
        XCTAssertEqual(m.codes[m.codeIndex(row: 2, column: 1)], 0x7E)
        XCTAssertEqual(m.bytes, 32 * 4 + 32 * 4, "one panel: 32 rows of 4 codes and 32 scales")
        var out = [Float](repeating: .nan, count: 12)
        m.dequantizeRows(0..<3, into: &out)
        for (i, (v, d)) in zip(values, out).enumerated() {
            // 3 mantissa bits: relative error at most 2⁻⁴ for normal codes.
            XCTAssertEqual(d, v, accuracy: abs(v) / 16 + 1e-12, "element \(i)")
        }
        XCTAssertEqual(out[1], -2, "the row maximum is exact")
        XCTAssertEqual(out[0], 0.5)
        XCTAssertEqual(Array(out[4..<8]), [0, 0, 0, 0])
    }

    /// Every element dequantises to `table[code] · scale`, in rows of several panels (the last one partial).
    func testDequantizeMatchesTable() {
        var rng = TestRandom(seed: 3)
        let rows = 45, columns = 37
        let values = (0..<(rows * columns)).map { _ in rng.float(-3, 3) }
        let m = values.withUnsafeBufferPointer { FP8Matrix(rows: rows, columns: columns, values: $0.baseAddress!) }
        for isa in InstructionSet.available {
            var out = [Float](repeating: 0, count: 40 * columns)
            m.dequantizeRows(2..<42, into: &out, instructionSet: isa)
            for r in 0..<40 {
                for c in 0..<columns {
                    let code = m.codes[m.codeIndex(row: r + 2, column: c)]
                    XCTAssertEqual(out[r * columns + c], FP8E4M3.decode(code) * m.scales[r + 2], "\(isa)")
                }
            }
        }
    }

    /// Every non-NaN code (subnormals and both zeros included) decodes exactly with every instruction set.
    func testAllCodesDecodeExactlyWithEveryInstructionSet() {
        let codes = (0..<512).map { UInt8($0 % 256) }.filter { !FP8E4M3.isNaN($0) }   // 508: past the vector body
        print("fp8 instruction sets on this machine: \(InstructionSet.available), best \(InstructionSet.best)")
        for isa in InstructionSet.available {
            for scale: Float in [1, 0.37, 3e-5] {
                var out = [Float](repeating: .nan, count: codes.count)
                codes.withUnsafeBufferPointer { c in
                    out.withUnsafeMutableBufferPointer { o in
                        let matrix = FP8Matrix(rows: 1, columns: codes.count)
                        for (column, code) in c.enumerated() { matrix.codes[matrix.codeIndex(row: 0, column: column)] = code }
                        matrix.scales[0] = scale
                        matrix.dequantizeRows(0..<1, into: o.baseAddress!, instructionSet: isa)
                    }
                }
                for (code, value) in zip(codes, out) {
                    let expected = FP8E4M3.decode(code) * scale
                    XCTAssertEqual(value.bitPattern, expected.bitPattern, "\(isa) code \(code) scale \(scale)")
                }
            }
        }
    }
}

final class FP8LinearTests: XCTestCase {
    /// The fp8 kernel is fp32 GEMM on the dequantised matrix: with every instruction set it must agree with one
    /// sgemm over the fully dequantised weights to float rounding, for decode (m = 1), a few rows and a
    /// prefill-sized block (several blocks of 12 rows), odd sizes, several panels with a partial last one, with and
    /// without accumulation.
    func testMatchesGemmOnDequantisedWeights() {
        var rng = TestRandom(seed: 11)
        for (n, k) in [(37, 51), (300, 129), (64, 576), (1, 9), (512, 160)] {
            let wValues = (0..<(n * k)).map { _ in rng.float(-1, 1) * (rng.float(0, 1) < 0.1 ? 5 : 0.2) }
            let w = wValues.withUnsafeBufferPointer { FP8Matrix(rows: n, columns: k, values: $0.baseAddress!) }
            var dequantised = [Float](repeating: 0, count: n * k)
            w.dequantizeRows(0..<n, into: &dequantised)
            for m in [1, 3, 5, 64] {
                let x = (0..<(m * k)).map { _ in rng.float(-2, 2) }
                let y0 = (0..<(m * n)).map { _ in rng.float(-1, 1) }
                // Tolerance scaled by Σ|x||w| per output (the size of the rounding the sums can accumulate).
                var magnitude = [Float](repeating: 0, count: m * n)
                for r in 0..<m { for j in 0..<n { for i in 0..<k { magnitude[r * n + j] += abs(x[r * k + i] * dequantised[j * k + i]) } } }
                for accumulate in [false, true] {
                    var expected = y0
                    Gemm.multiplyTransposed(x, rows: m, inner: k, weight: dequantised, outputs: n, into: &expected, accumulate: accumulate)
                    for isa in InstructionSet.available {
                        var y = y0
                        FP8Linear.multiplyTransposed(x, rows: m, weight: w, into: &y, accumulate: accumulate, instructionSet: isa)
                        for i in 0..<(m * n) where abs(y[i] - expected[i]) > 1e-5 * (magnitude[i] + abs(y0[i])) + 1e-30 {
                            XCTFail("n \(n) k \(k) m \(m) \(isa) accumulate \(accumulate): y[\(i)] = \(y[i]), sgemm \(expected[i])")
                            break
                        }
                    }
                }
            }
        }
    }
}
