import CFloatKernels

/// The activation of a gated MLP, applied to the output of the fused gate/up GEMM: `act(gate) * up`. The kernel's
/// vocabulary (the model config's `GatedActivation` maps onto it).
public enum Activation: Sendable {
    /// `silu(x) = x · sigmoid(x)`: SwiGLU.
    case silu
    /// GELU with the tanh approximation: GeGLU.
    case geluTanh

    /// `gateUp` holds, per row, `width` gate values followed by `width` up values (the fused gate/up GEMM output);
    /// writes `rows × width` activations into `out`. In C (`scalellm_gated_activation`), 16 exponentials at a time
    /// where Swift would call `expf` once per value; rows are split over the process's cores.
    public func apply(gateUp: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let code = switch self {
        case .silu: Int32(SCALELLM_ACTIVATION_SILU)
        case .geluTanh: Int32(SCALELLM_ACTIVATION_GELU_TANH)
        }
        ParallelLoop.forEachRange(of: rows, minimumPerRange: 4) { range in
            scalellm_gated_activation(gateUp + range.lowerBound * 2 * width, range.count, width, code, out + range.lowerBound * width)
        }
    }
}

/// Soft-capping, `x = cap · tanh(x / cap)`: Gemma 2 bounds its final logits (and attention scores, inside
/// `PagedAttention`) this way.
public enum SoftCap {
    /// Caps `count` floats in place.
    public static func apply(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        scalellm_soft_cap(x, count, cap)
    }
}
