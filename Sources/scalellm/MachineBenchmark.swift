import BLAS
import Foundation
import LoopIO
import Kernels

/// Measures the two ceilings a CPU engine runs into: how fast OpenBLAS multiplies matrices (compute bound, for
/// prefill and large batches) and how fast memory streams (bandwidth bound, for single-stream decode, which reads
/// every weight once per token). Figures are medians of several repetitions because the machines are shared.
struct MachineBenchmark {
    struct Result {
        var sgemmGFLOPS: Double
        /// Bytes read per second when summing a large buffer (what decode does with weights).
        var readBandwidth: Double
        /// memcpy rate, read + write bytes counted.
        var copyBandwidth: Double
    }

    var repetitions = 5

    func run(threads: Int) -> Result {
        Gemm.setThreadCount(threads)
        ParallelLoop.setThreadCount(threads)
        return Result(sgemmGFLOPS: sgemm(), readBandwidth: readBandwidth(threads: threads), copyBandwidth: copyBandwidth())
    }

    /// A 1024 × 1024 × 1024 sgemm (2·n³ FLOPs).
    private func sgemm() -> Double {
        let n = 1024
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let seconds = median((0..<repetitions).map { _ in
            time { Gemm.multiplyTransposed(a, rows: n, inner: n, weight: b, outputs: n, into: &c) }
        })
        return 2 * Double(n * n * n) / seconds / 1e9
    }

    /// Streams 512 MiB (far larger than any cache) and sums it, split over `threads` threads as a decode step's
    /// weight reads are split over the BLAS threads.
    private func readBandwidth(threads: Int) -> Double {
        let count = 128 << 20
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { partials.deallocate() }
        let chunk = count / threads
        // One BLAS thread per caller: each of our threads streams its own chunk through OpenBLAS's vectorised sum.
        Gemm.setThreadCount(1)
        defer { Gemm.setThreadCount(threads) }
        let seconds = median((0..<repetitions).map { _ in
            time { ParallelLoop.run(threads, threads: threads) { partials[$0] = Gemm.absoluteSum(buffer + $0 * chunk, count: chunk) } }
        })
        return Double(chunk * threads * 4) / seconds
    }

    private func copyBandwidth() -> Double {
        let bytes = 256 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 1, bytes)
        memset(destination, 0, bytes)
        let seconds = median((0..<repetitions).map { _ in time { memcpy(destination, source, bytes) } })
        return Double(2 * bytes) / seconds
    }
}

/// Wall-clock seconds taken by `body`.
func time(_ body: () -> Void) -> Double {
    let start = monotonicSeconds()
    body()
    return monotonicSeconds() - start
}

/// The median of a non-empty list.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
