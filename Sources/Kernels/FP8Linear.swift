import CFP8Kernels
import COpenBLAS

/// Reusable fp32 scratch for `FP8Linear`: the dequantised tile of weight rows handed to sgemm.
///
/// Not thread-safe: a workspace belongs to the one thread that drives a model (the engine thread), which passes
/// it to every linear layer of a forward pass; another thread calling `FP8Linear` needs its own workspace. The
/// weights themselves (`FP8Matrix`) are read-only and shared freely.
public final class FP8Workspace {
    /// Upper bound of one dequantised tile for a few activation rows: small enough to stay in L2 between the
    /// dequantisation that writes it and the sgemm that reads it.
    public let tileBytes: Int
    /// Upper bound for `largeTileRows` or more activation rows (prefill), where fewer, larger sgemm calls win:
    /// `scalellm bench linear` measured 1 MiB tiles faster from 16 rows up and 256 KiB tiles faster up to 8.
    public let largeTileBytes: Int
    public static let largeTileRows = 16
    /// Vector instructions for decoding (the best available unless a test asks for another).
    public var instructionSet: FP8InstructionSet
    private var scratch: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init(tileBytes: Int = 256 << 10, largeTileBytes: Int = 1 << 20, instructionSet: FP8InstructionSet = .best) {
        precondition(tileBytes >= 4 && largeTileBytes >= 4)
        self.tileBytes = tileBytes
        self.largeTileBytes = largeTileBytes
        self.instructionSet = instructionSet
        capacity = 0
        scratch = .allocate(capacity: 1)
    }

    deinit { scratch.deallocate() }

    /// Weight rows per tile when multiplying `rows` activation rows by a weight `inner` floats wide: as many as
    /// fit in the tile bound, a multiple of 8 when possible, at least 1, at most `outputs`.
    public func tileRows(inner k: Int, outputs n: Int, rows m: Int = 1) -> Int {
        let bound = m >= Self.largeTileRows ? largeTileBytes : tileBytes
        let fit = max(1, bound / (MemoryLayout<Float>.stride * max(k, 1)))
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

    /// Bytes of scratch currently held: the largest fp32 copy of weights that exists at any time.
    public var bytes: Int { capacity * MemoryLayout<Float>.stride }
}

/// Linear layers over E4M3 weights: `y[m×n] = x[m×k] · Wᵀ` (+ `y` when `accumulate`) with `W` an `FP8Matrix`
/// (`n × k`, one scale per output row). The weights are never expanded to fp32 as a whole: the tiled path
/// dequantises a tile of output rows into the workspace and multiplies it with one `cblas_sgemm`, so the fp32
/// copy never exceeds one tile; the fused path (decode, a few rows) decodes each weight row inside its dot
/// products and has no fp32 copy at all.
public enum FP8Linear {
    public enum Path: Sendable {
        /// Dequantise a tile of weight rows into the workspace, then sgemm (any m).
        case tiledGEMM
        /// Per weight row, decode-and-dot against every activation row (the weight row is read once).
        case fusedGEMV
    }

    /// Up to this many rows the fused path is the default: with its rows split over two cores, `scalellm bench
    /// linear` measured it ahead of the tiled path (1 MiB tiles) at every size up to 16 rows (8 rows: 26 vs 41 ms
    /// per model pass, 16 rows: 53 vs 84 ms) and behind at 32 (147 vs 103 ms).
    public static let fusedMaxRows = 16

    /// The path `multiplyTransposed` takes when none is given.
    public static func defaultPath(rows m: Int) -> Path { m <= fusedMaxRows ? .fusedGEMV : .tiledGEMM }

    /// `y[m×n] = x[m×k] · wᵀ` (+ `y` when `accumulate`), `n = weight.rows`, `k = weight.columns`.
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                          workspace: FP8Workspace, path: Path? = nil) {
        switch path ?? defaultPath(rows: m) {
        case .tiledGEMM: tiled(x, rows: m, weight: w, into: y, accumulate: accumulate, workspace: workspace)
        case .fusedGEMV: fused(x, rows: m, weight: w, into: y, accumulate: accumulate, workspace: workspace)
        }
    }

    private static func tiled(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: FP8Workspace) {
        let n = w.rows, k = w.columns
        let tileRows = workspace.tileRows(inner: k, outputs: n, rows: m)
        let tile = workspace.buffer(count: tileRows * k)
        var first = 0
        while first < n {
            let count = min(tileRows, n - first)
            w.dequantizeRows(first..<(first + count), into: tile, instructionSet: workspace.instructionSet)
            // Output columns first..<first+count of y (leading dimension n).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(count), blasint(k),
                        1, x, blasint(k), tile, blasint(k), accumulate ? 1 : 0, y + first, blasint(n))
            first += count
        }
    }

    /// The weight rows are split over the cores this process owns: decoding E4M3 is arithmetic on every code, and
    /// one core of the development machine decodes ~7 G codes/s from memory (12.7 G/s from cache), below what
    /// memory delivers to two.
    private static func fused(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: FP8Workspace) {
        let k = w.columns, isa = workspace.instructionSet.rawValue
        ParallelLoop.forEachRange(of: w.rows) { outputs in
            scalellm_fp8_linear(w.codes + outputs.lowerBound * k, w.scales + outputs.lowerBound, outputs.count, k, x, m,
                                y + outputs.lowerBound, w.rows, accumulate ? 1 : 0, isa)
        }
    }
}
