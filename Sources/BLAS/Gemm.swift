import COpenBLAS

/// Float32 matrix products in OpenBLAS, `y = x · Wᵀ` with `W` row-major (out × in) as in HuggingFace checkpoints.
/// The model's layers use `PackedMatrix` and `FP8Linear` instead (OpenBLAS re-packs the weight in every call),
/// so only the benchmarks and the kernel tests link this module: it is the machine's reference rate — the sgemm bound the benchmarks report and the baseline `bench linear`
/// compares the packed kernel with — and the reference product of the kernel tests.
public enum Gemm {
    /// `y[m×n] = x[m×k] · w[n×k]ᵀ` (+ `y` when `accumulate`).
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
                                          weight w: UnsafePointer<Float>, outputs n: Int,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if m == 1 {
            // OpenBLAS 0.3.21's sgemm packs the whole weight into a buffer before multiplying, reading and
            // writing it once more; sgemv streams it once, which is all one row needs.
            cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(n), blasint(k), 1, w, blasint(k), x, 1, accumulate ? 1 : 0, y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                        1, x, blasint(k), w, blasint(k), accumulate ? 1 : 0, y, blasint(n))
        }
    }

    /// Σ |x[i]| with OpenBLAS's vectorised kernel; streams memory at the rate a core can read it (the machine
    /// benchmark's bandwidth probe — a Swift loop built for baseline x86-64 reads ~30% slower).
    public static func absoluteSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sasum(blasint(count), x, 1)
    }

    /// Sets how many threads OpenBLAS may use (the benchmarks give it as many as `ParallelLoop`).
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// The OpenBLAS core type in use (e.g. "SkylakeX", "Haswell", "Prescott" for the slow generic fallback).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
