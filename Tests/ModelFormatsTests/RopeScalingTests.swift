import Foundation
import ModelFormats
import XCTest

/// The inverse frequencies of each RoPE scaling kind against transformers' formulas, written out in Double.
final class RopeScalingTests: XCTestCase {
    private let headDim = 128, theta: Float = 500000

    private var base: [Double] { (0..<(headDim / 2)).map { pow(Double(theta), -Double(2 * $0) / Double(headDim)) } }

    private func assertClose(_ actual: [Float], _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where abs(Double(a) - e) > 1e-6 * e {
            return XCTFail("frequency \(i): \(a) vs \(e)", file: file, line: line)
        }
    }

    func testNoneAndLinear() {
        assertClose(RopeScaling.none.inverseFrequencies(headDim: headDim, theta: theta), base)
        assertClose(RopeScaling.linear(factor: 4).inverseFrequencies(headDim: headDim, theta: theta), base.map { $0 / 4 })
    }

    /// transformers' `_compute_llama3_parameters` with Llama 3.1's values: high frequencies kept, low ones divided
    /// by the factor, a smooth blend between — all three regimes occur at head_dim 128.
    func testLlama3MatchesTransformersFormula() {
        let factor = 8.0, low = 1.0, high = 4.0, original = 8192.0
        let expected = base.map { f -> Double in
            let wavelength = 2 * Double.pi / f
            if wavelength < original / high { return f }
            if wavelength > original / low { return f / factor }
            let smooth = (original / wavelength - low) / (high - low)
            return (1 - smooth) * f / factor + smooth * f
        }
        let regimes = Set(zip(base, expected).map { f, e in e == f ? "kept" : e == f / factor ? "divided" : "blended" })
        XCTAssertEqual(regimes.count, 3, "the test covers the three regimes")
        let scaling = RopeScaling.llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContext: 8192)
        assertClose(scaling.inverseFrequencies(headDim: headDim, theta: theta), expected)
    }

    /// A GGUF's `rope_freqs` divides each frequency by its factor (llama.cpp's form of the same scaling).
    func testFrequencyFactorsDivide() {
        let factors = (0..<(headDim / 2)).map { Float(1 + $0 % 5) }
        assertClose(RopeScaling.frequencyFactors(factors).inverseFrequencies(headDim: headDim, theta: theta),
                    zip(base, factors).map { $0 / Double($1) })
    }
}
