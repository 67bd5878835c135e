import TestSupport
import Foundation
import XCTest
@testable import Kernels

/// RMSNorm, SwiGLU, RotaryEmbedding and the VectorMath primitives against direct formulas in Double.
final class ElementwiseKernelTests: XCTestCase {
    private func assertClose(_ actual: [Float], _ expected: [Double], relative: Double = 1e-5, absolute: Double = 1e-6,
                             _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, message, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(Double(a) - e) <= absolute + relative * abs(e)) {
            XCTFail("\(message) element \(i): \(a) vs expected \(e)", file: file, line: line)
            return
        }
    }

    // MARK: RMSNorm

    func testRMSNormMatchesFormula() {
        var random = TestRandom(seed: 11)
        for (rows, width, eps) in [(1, 1, Float(1e-5)), (3, 64, 1e-5), (2, 17, 1e-6), (4, 576, 1e-5)] {
            let x = random.floats(rows * width, -3, 3), weight = random.floats(width, 0.5, 1.5)
            var y = [Float](repeating: .nan, count: rows * width)
            RMSNorm.apply(x, weight: weight, rows: rows, width: width, eps: eps, into: &y)
            var expected: [Double] = []
            for r in 0..<rows {
                let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
                let meanSquare = row.reduce(0) { $0 + $1 * $1 } / Double(width)
                let scale = 1 / (meanSquare + Double(eps)).squareRoot()
                for i in 0..<width { expected.append(row[i] * scale * Double(weight[i])) }
            }
            assertClose(y, expected, "rows \(rows) width \(width)")

            // In place (y == x) gives the same result.
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { p in
                RMSNorm.apply(p.baseAddress!, weight: weight, rows: rows, width: width, eps: eps, into: p.baseAddress!)
            }
            XCTAssertEqual(inPlace, y, "in place, rows \(rows) width \(width)")
        }
    }

    func testRMSNormOfZeroRowIsZeroNotNaN() {
        let x = [Float](repeating: 0, count: 8), weight = [Float](repeating: 1, count: 8)
        var y = [Float](repeating: .nan, count: 8)
        RMSNorm.apply(x, weight: weight, rows: 1, width: 8, eps: 1e-5, into: &y)
        XCTAssertEqual(y, x)
    }

    // MARK: SwiGLU

    func testSwiGLUMatchesSiluTimesUp() {
        var random = TestRandom(seed: 12)
        let rows = 9, width = 37   // rows split over two threads; 2 vectors of 16 and a tail of 5 per row
        var gateUp = random.floats(rows * 2 * width, -6, 6)
        gateUp[0] = -100; gateUp[1] = 100; gateUp[2] = 0   // saturated and zero gates
        var out = [Float](repeating: .nan, count: rows * width)
        SwiGLU.apply(gateUp: gateUp, rows: rows, width: width, into: &out)
        var expected: [Double] = []
        for r in 0..<rows {
            for i in 0..<width {
                let g = Double(gateUp[r * 2 * width + i]), up = Double(gateUp[r * 2 * width + width + i])
                expected.append(g / (1 + exp(-g)) * up)
            }
        }
        assertClose(out, expected)
        XCTAssertFalse(out.contains { $0.isNaN })
    }

    // MARK: RotaryEmbedding

    /// HuggingFace rotate-half: out = x·cos + rotate_half(x)·sin with angle pos·θ^(-2i/d) for pair (i, i + d/2).
    private func referenceRotary(_ x: [Float], heads: Int, headDim: Int, position: Double, theta: Double) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        let half = headDim / 2
        for h in 0..<heads {
            for i in 0..<half {
                let angle = position * pow(theta, -Double(2 * i) / Double(headDim))
                let a = Double(x[h * headDim + i]), b = Double(x[h * headDim + half + i])
                out[h * headDim + i] = a * cos(angle) - b * sin(angle)
                out[h * headDim + half + i] = b * cos(angle) + a * sin(angle)
            }
        }
        return out
    }

    func testRotaryMatchesRotateHalfFormula() {
        var random = TestRandom(seed: 13)
        for (headDim, theta) in [(8, Float(10000)), (64, 10000), (64, 100000)] {
            let rope = RotaryEmbedding(headDim: headDim, theta: theta)
            for position in [0, 1, 2, 7, 16, 100] {
                let heads = 3
                let x = random.floats(heads * headDim)
                var y = x
                rope.apply(&y, heads: heads, position: position)
                // float32 angles (as transformers computes them) differ from Double by ~ position · 1e-7 radians.
                assertClose(y, referenceRotary(x, heads: heads, headDim: headDim, position: Double(position), theta: Double(theta)),
                            relative: 0, absolute: 2e-5, "headDim \(headDim) theta \(theta) position \(position)")
                if position == 0 { XCTAssertEqual(y, x, "position 0 is the identity") }
            }
        }
    }

    func testRotaryLinearScalingDividesPositions() {
        var random = TestRandom(seed: 14)
        let headDim = 64, heads = 2
        let scaled = RotaryEmbedding(headDim: headDim, theta: 10000, linearScaling: 2)
        let plain = RotaryEmbedding(headDim: headDim, theta: 10000)
        for position in [0, 1, 3, 10, 64] {
            let x = random.floats(heads * headDim)
            var y = x
            scaled.apply(&y, heads: heads, position: position)
            assertClose(y, referenceRotary(x, heads: heads, headDim: headDim, position: Double(position) / 2, theta: 10000),
                        relative: 0, absolute: 2e-5, "scaled position \(position)")
            // Position 2p with factor 2 is exactly position p without scaling.
            var a = x, b = x
            scaled.apply(&a, heads: heads, position: 2 * position)
            plain.apply(&b, heads: heads, position: position)
            XCTAssertEqual(a, b, "scaled position \(2 * position) vs plain \(position)")
        }
    }

    // MARK: VectorMath

    func testDotForCountsAroundTheSIMDWidth() {
        var random = TestRandom(seed: 15)
        for count in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
            let a = random.floats(count + 1), b = random.floats(count + 1)   // +1: never read past `count`
            var expected = 0.0, magnitude = 0.0
            for i in 0..<count { expected += Double(a[i]) * Double(b[i]); magnitude += abs(Double(a[i]) * Double(b[i])) }
            let actual = VectorMath.dot(a, b, count: count)
            XCTAssertLessThanOrEqual(abs(Double(actual) - expected), 1e-6 * max(1, magnitude), "count \(count)")
            if count == 0 { XCTAssertEqual(actual, 0) }
        }
    }

    func testArgmaxReturnsFirstIndexOnTies() {
        XCTAssertEqual(VectorMath.argmax([1, 3, 3, 2], count: 4), 1)
        XCTAssertEqual(VectorMath.argmax([5, 5, 5], count: 3), 0)
        XCTAssertEqual(VectorMath.argmax([-1, -0.5, 2, 2], count: 4), 2)
        XCTAssertEqual(VectorMath.argmax([-.infinity, -3, -3], count: 3), 1)
        XCTAssertEqual(VectorMath.argmax([7], count: 1), 0)
        // Only the first `count` elements are considered.
        XCTAssertEqual(VectorMath.argmax([1, 2, 9], count: 2), 1)
        var ramp = (0..<100).map { Float($0 % 10) }   // 9 first at index 9
        XCTAssertEqual(VectorMath.argmax(ramp, count: 100), 9)
        ramp[57] = 10
        XCTAssertEqual(VectorMath.argmax(ramp, count: 100), 57)
    }
}
