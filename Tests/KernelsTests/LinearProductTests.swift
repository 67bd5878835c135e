import BLAS
import TestSupport
import XCTest
@testable import Kernels

/// The two float32 products `y = x · wᵀ` (optionally `+ y`) — OpenBLAS (`Gemm`) on row-major weights and the
/// packed-panel kernel (`PackedMatrix`) — against naive loops in Double.
final class LinearProductTests: XCTestCase {
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

    private enum Product: CaseIterable { case openBLAS, packed }

    func testProductsMatchNaiveLoops() {
        var random = TestRandom(seed: 21)
        // Outputs around the 32-row panels (a partial last panel), enough panels to be split over two threads and
        // to take the 4-panel path of a single row; row counts around the kernel's blocks of 12 rows and past its
        // 192-row chunk.
        for (m, k, n) in [(1, 1, 1), (3, 17, 5), (1, 64, 33), (7, 5, 3), (8, 64, 96), (5, 172, 64), (2, 576, 130),
                          (12, 31, 200), (13, 48, 129), (1, 40, 256), (1, 9, 300), (25, 16, 70), (200, 20, 45)] {
            let x = random.floats(m * k), w = random.floats(n * k)
            let packed = w.withUnsafeBufferPointer { PackedMatrix(rows: n, columns: k, values: $0.baseAddress!) }
            for product in Product.allCases {
                for accumulate in [false, true] {
                    let y0 = random.floats(m * n)
                    var y = accumulate ? y0 : [Float](repeating: .nan, count: m * n)   // NaN: must be overwritten, not read
                    switch product {
                    case .openBLAS:
                        Gemm.multiplyTransposed(x, rows: m, inner: k, weight: w, outputs: n, into: &y, accumulate: accumulate)
                    case .packed:
                        packed.multiplyTransposed(x, rows: m, into: &y, accumulate: accumulate)
                    }
                    let expected = reference(x: x, w: w, y0: accumulate ? y0 : nil, m: m, k: k, n: n)
                    for i in 0..<(m * n) where !(abs(Double(y[i]) - expected[i]) <= 1e-5 * Double(k) + 1e-6) {
                        XCTFail("\(product) m \(m) k \(k) n \(n) accumulate \(accumulate) element \(i): \(y[i]) vs \(expected[i])")
                        break
                    }
                }
            }
        }
    }

    func testPackedRowsReadBackExactly() {
        var random = TestRandom(seed: 22)
        let n = 45, k = 19   // a partial last panel
        let w = random.floats(n * k)
        let packed = w.withUnsafeBufferPointer { PackedMatrix(rows: n, columns: k, values: $0.baseAddress!) }
        XCTAssertEqual(packed.bytes, 64 * k * MemoryLayout<Float>.stride)   // two whole panels
        var row = [Float](repeating: .nan, count: k)
        for r in [0, 31, 32, 44] {
            packed.copyRow(r, into: &row)
            XCTAssertEqual(row, Array(w[(r * k)..<((r + 1) * k)]), "row \(r)")
        }
    }

    func testIdentityWeightCopiesRows() {
        let m = 3, k = 4
        let x: [Float] = (0..<(m * k)).map { Float($0) - 5.5 }
        var identity = [Float](repeating: 0, count: k * k)
        for i in 0..<k { identity[i * k + i] = 1 }
        let packed = identity.withUnsafeBufferPointer { PackedMatrix(rows: k, columns: k, values: $0.baseAddress!) }
        var y = [Float](repeating: 0, count: m * k)
        Gemm.multiplyTransposed(x, rows: m, inner: k, weight: identity, outputs: k, into: &y)
        XCTAssertEqual(y, x)
        y = [Float](repeating: 0, count: m * k)
        packed.multiplyTransposed(x, rows: m, into: &y)
        XCTAssertEqual(y, x)
    }
}
