import Foundation

/// Rotary position embedding in HuggingFace's "rotate half" layout: within each head, element `i` of the first
/// half is rotated with element `i` of the second half by angle `position · f_i`. The inverse frequencies `f_i`
/// come from the model's config (base θ and any scaling: see `RopeScaling` in ModelFormats); angles are computed
/// in float32 exactly as transformers does, so long prompts keep matching its logits.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    private let inverseFrequencies: [Float]

    /// RoPE over heads of `2 · inverseFrequencies.count` elements.
    public init(inverseFrequencies: [Float]) {
        headDim = 2 * inverseFrequencies.count
        self.inverseFrequencies = inverseFrequencies
    }

    /// Rotates `heads` consecutive heads of `vector` (heads × headDim) in place for `position`.
    public func apply(_ vector: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let half = headDim / 2
        let p = Float(position)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { table in
            for i in 0..<half {
                let angle = p * inverseFrequencies[i]
                table[i] = Float(cos(Double(angle)))
                table[half + i] = Float(sin(Double(angle)))
            }
            for h in 0..<heads {
                let v = vector + h * headDim
                for i in 0..<half {
                    let a = v[i], b = v[i + half], c = table[i], s = table[half + i]
                    v[i] = a * c - b * s
                    v[i + half] = b * c + a * s
                }
            }
        }
    }
}
