import CFloatKernels
import COpenBLAS

/// Float32 matrix products. Every linear layer of the model is `y = x · Wᵀ` with activations `x` (tokens × in) and
/// a weight `W` stored row-major (out × in) as in HuggingFace checkpoints, so one routine covers them all; a whole
/// prefill chunk or decode batch goes through as one call — OpenBLAS, or for a few rows the rows kernel.
public enum Gemm {
    public enum Path: Sendable {
        /// OpenBLAS: sgemv for one row, sgemm (which packs the weight first) for more.
        case blas
        /// `scalellm_f32_linear_rows` over the process's cores: each weight row read once, straight from the
        /// model, against every activation row.
        case rowsKernel
    }

    /// From 2 up to this many rows the rows kernel is the default: packing the whole weight costs sgemm more than
    /// the product of a few rows. `scalellm bench linear` (ms per pass of SmolLM2-135M's linear layers, 2 threads):
    /// 2 rows 25 vs 49, 4 rows 33 vs 58, 8 rows 47 vs 61, 12 rows 57 vs 81, 16 rows 76 vs 66.
    public static let rowsKernelMaxRows = 12

    /// The path `multiplyTransposed` takes when none is given.
    public static func defaultPath(rows m: Int) -> Path { (2...rowsKernelMaxRows).contains(m) ? .rowsKernel : .blas }

    /// `y[m×n] = x[m×k] · w[n×k]ᵀ` (+ `y` when `accumulate`).
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
                                          weight w: UnsafePointer<Float>, outputs n: Int,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                          path: Path? = nil) {
        switch path ?? defaultPath(rows: m) {
        case .blas where m == 1:
            // One row (a batch-1 decode step): OpenBLAS 0.3.21's sgemm packs the whole weight into a buffer before
            // multiplying, reading and writing it once more; sgemv streams it once, which is all a decode needs.
            cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(n), blasint(k), 1, w, blasint(k), x, 1, accumulate ? 1 : 0, y, 1)
        case .blas:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                        1, x, blasint(k), w, blasint(k), accumulate ? 1 : 0, y, blasint(n))
        case .rowsKernel:
            ParallelLoop.forEachRange(of: n) { outputs in
                scalellm_f32_linear_rows(w + outputs.lowerBound * k, outputs.count, k, x, m, y + outputs.lowerBound, n,
                                         accumulate ? 1 : 0)
            }
        }
    }

    /// Σ |x[i]| with OpenBLAS's vectorised kernel; streams memory at the rate a core can read it (the machine
    /// benchmark's bandwidth probe — a Swift loop built for baseline x86-64 reads ~30% slower).
    public static func absoluteSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sasum(blasint(count), x, 1)
    }

    /// Sets how many threads OpenBLAS may use (a worker gives it the cores it owns).
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// How many threads OpenBLAS may use: the cores this process was given, which other kernels share the same way.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// The OpenBLAS core type in use (e.g. "SkylakeX", "Haswell", "Prescott" for the slow generic fallback).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
