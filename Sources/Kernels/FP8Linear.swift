import CFP8Kernels
import CFloatKernels

/// Reusable fp32 scratch for `FP8Linear`: one dequantised 32-row panel per thread of the panel path.
///
/// Not thread-safe: a workspace belongs to the one thread that drives a model (the engine thread), which passes
/// it to every linear layer of a forward pass; another thread calling `FP8Linear` needs its own workspace. The
/// weights themselves (`FP8Matrix`) are read-only and shared freely.
public final class FP8Workspace {
    /// Vector instructions for decoding (the best available unless a test asks for another).
    public var instructionSet: FP8InstructionSet
    private var scratch: UnsafeMutablePointer<Float>
    private var capacity: Int

    public init(instructionSet: FP8InstructionSet = .best) {
        self.instructionSet = instructionSet
        capacity = 0
        scratch = .allocate(capacity: 1)
    }

    deinit { scratch.deallocate() }

    /// A scratch of at least `count` floats (reallocated only when a larger one is asked for).
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
/// (`n × k`, one scale per output row). The weights are never expanded to fp32 as a whole: the panel path
/// dequantises 32 output rows at a time into the layout of the packed fp32 kernel (`PackedMatrix`) and multiplies
/// every activation row by them, so the fp32 copy never exceeds one panel per core; the fused path (decode, a few
/// rows) decodes each weight row inside its dot products and has no fp32 copy at all.
public enum FP8Linear {
    public enum Path: Sendable {
        /// Dequantise one 32-row panel at a time, then the packed fp32 kernel (any m).
        case panels
        /// Per weight row, decode-and-dot against every activation row (the weight row is read once).
        case fusedGEMV
    }

    /// Up to this many rows the fused path is the default: `scalellm bench linear` (ms per model pass, fused vs
    /// panels) measured 2 rows 11.2 vs 32.6, 8 rows 23.2 vs 36.6, 12 rows 41.0 vs 41.6, 16 rows 58.0 vs 46.2.
    public static let fusedMaxRows = 12

    /// The path `multiplyTransposed` takes when none is given.
    public static func defaultPath(rows m: Int) -> Path { m <= fusedMaxRows ? .fusedGEMV : .panels }

    /// `y[m×n] = x[m×k] · wᵀ` (+ `y` when `accumulate`), `n = weight.rows`, `k = weight.columns`.
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                          workspace: FP8Workspace, path: Path? = nil) {
        switch path ?? defaultPath(rows: m) {
        case .panels: panels(x, rows: m, weight: w, into: y, accumulate: accumulate, workspace: workspace)
        case .fusedGEMV: fused(x, rows: m, weight: w, into: y, accumulate: accumulate, workspace: workspace)
        }
    }

    /// The panels are split over the cores this process owns, each core dequantising into its own part of the
    /// workspace (32 × k floats, which stays in its L2 cache while every block of activation rows reads it).
    private static func panels(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                               into y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: FP8Workspace) {
        let n = w.rows, k = w.columns, isa = workspace.instructionSet.rawValue
        let panelRows = Int(SCALELLM_FP8_PANEL_ROWS), panelCount = (n + panelRows - 1) / panelRows
        let parts = max(1, min(Gemm.threadCount, panelCount))
        let scratch = workspace.buffer(count: parts * panelRows * k)
        ParallelLoop.run(parts) { part in
            let panel = scratch + part * panelRows * k
            for p in (panelCount * part / parts)..<(panelCount * (part + 1) / parts) {
                let first = p * panelRows, count = min(panelRows, n - first)
                scalellm_fp8_dequantize_panel(w.codes + first * k, w.scales + first, count, k, panel, isa)
                scalellm_f32_packed_linear(panel, 0, 1, count, k, x, m, y + first, n, accumulate ? 1 : 0)
            }
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
