import COpenBLAS

/// Matrix products through OpenBLAS. Every linear layer of the model is `y = x · Wᵀ` with activations `x`
/// (tokens × in) and a weight `W` stored row-major (out × in) as in HuggingFace checkpoints, so one routine covers
/// them all; a whole prefill chunk or decode batch goes through as a single GEMM.
public enum Gemm {
    /// `y[m×n] = x[m×k] · w[n×k]ᵀ` (+ `y` when `accumulate`).
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
                                          weight w: UnsafePointer<Float>, outputs n: Int,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                    1, x, blasint(k), w, blasint(k), accumulate ? 1 : 0, y, blasint(n))
    }

    /// Sets how many threads OpenBLAS may use (a worker gives it the cores it owns).
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// The OpenBLAS core type in use (e.g. "SkylakeX", "Haswell", "Prescott" for the slow generic fallback).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
