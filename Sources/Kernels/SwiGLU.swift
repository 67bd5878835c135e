import Foundation

/// The gated activation of the Llama MLP: `silu(gate) * up`, with `silu(x) = x · sigmoid(x)`.
public enum SwiGLU {
    /// `gateUp` holds, per row, `width` gate values followed by `width` up values (the fused gate/up GEMM output);
    /// writes `rows × width` activations into `out`.
    public static func apply(gateUp: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let gate = gateUp + r * 2 * width, up = gate + width, y = out + r * width
            for i in 0..<width {
                let g = gate[i]
                y[i] = g / (1 + expf(-g)) * up[i]
            }
        }
    }
}
