/// Root-mean-square layer normalisation, as Llama applies before attention, before the MLP and at the end:
/// `y = x / sqrt(mean(x²) + eps) * weight`, computed in float32 like HuggingFace's LlamaRMSNorm.
public enum RMSNorm {
    /// Normalises each of `rows` rows of width `width` from `x` into `y` (which may equal `x`).
    public static func apply(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows: Int, width: Int,
                             eps: Float, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * width, out = y + r * width
            let meanSquare = VectorMath.dot(row, row, count: width) / Float(width)
            let scale = 1 / (meanSquare + eps).squareRoot()
            for i in 0..<width { out[i] = weight[i] * (row[i] * scale) }
        }
    }
}
