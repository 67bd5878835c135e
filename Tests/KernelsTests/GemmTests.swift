import TestSupport
import XCTest
@testable import Kernels

/// Gemm.multiplyTransposed (`y = x · wᵀ`, optionally `+ y`) against naive loops in Double.
final class GemmTests: XCTestCase {
    private func reference(x: [Float], w: [Float], y0: [Float]?, m: Int, k: Int, n: Int) -> [Double] {
        var y = [Double](repeating: 0, count: m * n)
        for r in 0..<m {
            for c in 0..<n {
                var sum = y0.map { Double($0[r * n + c]) } ?? 0
                for i in 0..<k { sum += Double(x[r * k + i]) * Double(w[c * k + i]) }
                y[r * n + c] = sum
            }
        }
        return y
    }

    func testMultiplyTransposedMatchesNaiveLoops() {
        var random = TestRandom(seed: 21)
        // Both paths, with row counts around the rows kernel's groups of 4, widths around its 16 lanes, and
        // enough outputs (≥ 128) for the rows kernel to split them over two threads.
        for (m, k, n) in [(1, 1, 1), (3, 17, 5), (1, 64, 33), (7, 5, 3), (8, 64, 96), (5, 172, 64), (2, 576, 130),
                          (12, 31, 200), (6, 48, 129)] {
            let x = random.floats(m * k), w = random.floats(n * k)
            for path in [Gemm.Path.blas, .rowsKernel] {
                for accumulate in [false, true] {
                    let y0 = random.floats(m * n)
                    var y = accumulate ? y0 : [Float](repeating: .nan, count: m * n)   // NaN: must be overwritten, not read
                    Gemm.multiplyTransposed(x, rows: m, inner: k, weight: w, outputs: n, into: &y, accumulate: accumulate, path: path)
                    let expected = reference(x: x, w: w, y0: accumulate ? y0 : nil, m: m, k: k, n: n)
                    for i in 0..<(m * n) where !(abs(Double(y[i]) - expected[i]) <= 1e-5 * Double(k) + 1e-6) {
                        XCTFail("\(path) m \(m) k \(k) n \(n) accumulate \(accumulate) element \(i): \(y[i]) vs \(expected[i])")
                        break
                    }
                }
            }
        }
    }

    func testDefaultPathUsesTheRowsKernelForSmallBatchesOnly() {
        XCTAssertEqual(Gemm.defaultPath(rows: 1), .blas)
        XCTAssertEqual(Gemm.defaultPath(rows: 2), .rowsKernel)
        XCTAssertEqual(Gemm.defaultPath(rows: Gemm.rowsKernelMaxRows), .rowsKernel)
        XCTAssertEqual(Gemm.defaultPath(rows: Gemm.rowsKernelMaxRows + 1), .blas)
    }

    func testIdentityWeightCopiesRows() {
        let m = 3, k = 4
        let x: [Float] = (0..<(m * k)).map { Float($0) - 5.5 }
        var identity = [Float](repeating: 0, count: k * k)
        for i in 0..<k { identity[i * k + i] = 1 }
        var y = [Float](repeating: 0, count: m * k)
        Gemm.multiplyTransposed(x, rows: m, inner: k, weight: identity, outputs: k, into: &y)
        XCTAssertEqual(y, x)
    }
}
