import TestSupport
import Foundation
import XCTest
@testable import Kernels

/// RMSNorm, the gated activations, soft-capping, RotaryEmbedding and the VectorMath primitives against direct
/// formulas in Double.
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

    // MARK: Gated activations

    /// `act(gate) * up` over rows split across two threads, 2 vectors of 16 and a tail of 5 per row, with
    /// saturated and zero gates, against `act` in Double.
    private func checkGatedActivation(_ activation: Activation, seed: UInt64, _ act: (Double) -> Double) {
        var random = TestRandom(seed: seed)
        let rows = 9, width = 37
        var gateUp = random.floats(rows * 2 * width, -6, 6)
        gateUp[0] = -100; gateUp[1] = 100; gateUp[2] = 0
        var out = [Float](repeating: .nan, count: rows * width)
        activation.apply(gateUp: gateUp, rows: rows, width: width, into: &out)
        var expected: [Double] = []
        for r in 0..<rows {
            for i in 0..<width { expected.append(act(Double(gateUp[r * 2 * width + i])) * Double(gateUp[r * 2 * width + width + i])) }
        }
        assertClose(out, expected, "\(activation)")
        XCTAssertFalse(out.contains { $0.isNaN })
    }

    func testSiluGatedMatchesSiluTimesUp() {
        checkGatedActivation(.silu, seed: 12) { g in g / (1 + exp(-g)) }
    }

    func testGeluTanhGatedMatchesPyTorchsTanhApproximation() {
        // PyTorch's gelu(approximate="tanh"), which Gemma's gelu_pytorch_tanh is.
        checkGatedActivation(.geluTanh, seed: 15) { g in 0.5 * g * (1 + tanh((2 / Double.pi).squareRoot() * (g + 0.044715 * g * g * g))) }
    }

    func testSoftCapMatchesCapTimesTanh() {
        var random = TestRandom(seed: 16)
        var x = random.floats(37, -200, 200)
        x[0] = 0; x[1] = 1e-3; x[2] = -1e4
        let expected = x.map { 30 * tanh(Double($0) / 30) }
        x.withUnsafeMutableBufferPointer { SoftCap.apply($0.baseAddress!, count: $0.count, cap: 30) }
        assertClose(x, expected, relative: 1e-6, absolute: 1e-5)
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
            let frequencies = (0..<(headDim / 2)).map { i in 1 / Float(pow(Double(theta), Double(Float(2 * i) / Float(headDim)))) }
            let rope = RotaryEmbedding(inverseFrequencies: frequencies)
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
