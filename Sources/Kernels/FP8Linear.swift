import COpenBLAS
import Foundation

/// Reusable fp32 scratch for `FP8Linear`: the dequantised tile of weight rows handed to sgemm.
///
/// Not thread-safe: a workspace belongs to the one thread that drives a model (the engine thread), which passes
/// it to every linear layer of a forward pass; another thread calling `FP8Linear` needs its own workspace. The
/// weights themselves (`FP8Matrix`) are read-only and shared freely.
public final class FP8Workspace {
    /// Upper bound of one dequantised tile, chosen to stay in L2 next to the activations sgemm reads.
    public let tileBytes: Int
    /// Threads for the single-row (decode) path; 1 runs it on the calling thread.
    public var threads: Int
    private var scratch: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init(tileBytes: Int = 256 << 10, threads: Int = 1) {
        precondition(tileBytes >= 4 && threads >= 1)
        self.tileBytes = tileBytes
        self.threads = threads
        capacity = 0
        scratch = .allocate(capacity: 1)
    }

    deinit { scratch.deallocate() }

    /// Rows per tile for rows `inner` floats wide: as many as fit in `tileBytes`, a multiple of 8 when possible,
    /// at least 1.
    public func tileRows(inner k: Int, outputs n: Int) -> Int {
        let fit = max(1, tileBytes / (MemoryLayout<Float>.stride * max(k, 1)))
        return min(n, fit >= 8 ? fit / 8 * 8 : fit)
    }

    /// A scratch of at least `count` floats (reallocated only when a larger tile is asked for).
    func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            scratch.deallocate()
            scratch = .allocate(capacity: count)
            capacity = count
        }
        return scratch
    }

    /// Bytes of scratch currently held.
    public var bytes: Int { capacity * MemoryLayout<Float>.stride }
}

/// Linear layers over E4M3 weights: `y[m×n] = x[m×k] · Wᵀ` (+ `y` when `accumulate`) with `W` an `FP8Matrix`
/// (`n × k`, one scale per output row). The weights are never expanded to fp32 as a whole: the tiled path
/// dequantises a tile of output rows into the workspace and multiplies it with one `cblas_sgemm`, so the fp32
/// copy never exceeds one tile; the single-row path (decode) fuses dequantisation into the dot products.
public enum FP8Linear {
    public enum Path: Sendable {
        /// Dequantise a tile of weight rows into the workspace, then sgemm (any m).
        case tiledGEMM
        /// Per output row, a dot product that decodes the codes on the fly (for m = 1; loops over rows otherwise).
        case fusedGEMV
    }

    /// The path `multiplyTransposed` takes when none is given: fused for a single row, tiled sgemm otherwise.
    public static func defaultPath(rows m: Int) -> Path { m == 1 ? .fusedGEMV : .tiledGEMM }

    /// `y[m×n] = x[m×k] · wᵀ` (+ `y` when `accumulate`), `n = weight.rows`, `k = weight.columns`.
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                          workspace: FP8Workspace, path: Path? = nil) {
        switch path ?? defaultPath(rows: m) {
        case .tiledGEMM: tiled(x, rows: m, weight: w, into: y, accumulate: accumulate, workspace: workspace)
        case .fusedGEMV: fused(x, rows: m, weight: w, into: y, accumulate: accumulate, threads: workspace.threads)
        }
    }

    private static func tiled(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: FP8Workspace) {
        let n = w.rows, k = w.columns
        let tileRows = workspace.tileRows(inner: k, outputs: n)
        let tile = workspace.buffer(count: tileRows * k)
        var first = 0
        while first < n {
            let count = min(tileRows, n - first)
            w.dequantizeRows(first..<(first + count), into: tile)
            // Output columns first..<first+count of y (leading dimension n).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(count), blasint(k),
                        1, x, blasint(k), tile, blasint(k), accumulate ? 1 : 0, y + first, blasint(n))
            first += count
        }
    }

    /// Weights per thread below which the fused path does not split its rows (waking a thread costs microseconds).
    static let minimumWorkPerThread = 1 << 15

    private static func fused(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int) {
        let n = w.rows, k = w.columns
        let yAddress = Int(bitPattern: y), xAddress = Int(bitPattern: x)
        @Sendable func run(_ outputs: Range<Int>) {
            let y = UnsafeMutablePointer<Float>(bitPattern: yAddress)!, x = UnsafePointer<Float>(bitPattern: xAddress)!
            let codes = w.codes, scales = w.scales
            for r in 0..<m {
                let xr = x + r * k, yr = y + r * n
                for j in outputs {
                    let value = FP8Matrix.dot(codes + j * k, xr, count: k) * scales[j]
                    yr[j] = accumulate ? yr[j] + value : value
                }
            }
        }
        let parts = min(threads, max(1, n * k / minimumWorkPerThread))
        if parts <= 1 { return run(0..<n) }
        let chunk = (n + parts - 1) / parts
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            run((p * chunk)..<min(n, (p + 1) * chunk))
        }
    }
}
