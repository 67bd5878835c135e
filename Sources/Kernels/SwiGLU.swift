import CFloatKernels

/// The gated activation of the Llama MLP: `silu(gate) * up`, with `silu(x) = x · sigmoid(x)`.
public enum SwiGLU {
    /// `gateUp` holds, per row, `width` gate values followed by `width` up values (the fused gate/up GEMM output);
    /// writes `rows × width` activations into `out`. In C (`scalellm_swiglu`), 16 exponentials at a time where
    /// Swift would call `expf` once per value; rows are split over the process's cores.
    public static func apply(gateUp: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        ParallelLoop.forEachRange(of: rows, minimumPerRange: 4) { range in
            scalellm_swiglu(gateUp + range.lowerBound * 2 * width, range.count, width, out + range.lowerBound * width)
        }
    }
}
