import CFloatKernels

/// Linear layers over E4M3 weights: `y[m×n] = x[m×k] · Wᵀ` (+ `y` when `accumulate`) with `W` an `FP8Matrix`
/// (`n × k`, one scale per output row). The packed kernel decodes each column's 32 codes of a panel inside the
/// product and multiplies them by every activation row, applying the row scales to the sums, so the weights are
/// never expanded to fp32 at all; panels are split over the process's cores.
public enum FP8Linear {
    /// `y[m×n] = x[m×k] · wᵀ` (+ `y` when `accumulate`), `n = weight.rows`, `k = weight.columns`, decoding with
    /// `instructionSet` (tests ask for every level the machine has).
    public static func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, weight w: FP8Matrix,
                                          into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                          instructionSet: InstructionSet = .best) {
        ParallelLoop.forEachRange(of: w.panelCount, minimumPerRange: 2) { panels in
            scalellm_fp8_packed_linear(w.codes, w.scales, panels.lowerBound, panels.count, w.rows, w.columns, x, m, y,
                                       w.rows, accumulate ? 1 : 0, instructionSet.rawValue)
        }
    }
}
