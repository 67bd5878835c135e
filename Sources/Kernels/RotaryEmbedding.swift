import Foundation

/// Rotary position embedding in HuggingFace's "rotate half" layout: within each head, element `i` of the first
/// half is rotated with element `i` of the second half by angle `position · θ^(-2i/d)`. Frequencies and angles are
/// computed in float32 exactly as transformers does, so long prompts keep matching its logits.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    private let inverseFrequencies: [Float]
    private let positionScale: Float

    public init(headDim: Int, theta: Float, linearScaling: Float = 1) {
        self.headDim = headDim
        self.positionScale = 1 / linearScaling
        inverseFrequencies = (0..<(headDim / 2)).map { i in
            1 / Float(pow(Double(theta), Double(Float(2 * i) / Float(headDim))))
        }
    }

    /// Rotates `heads` consecutive heads of `vector` (heads × headDim) in place for `position`.
    public func apply(_ vector: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let half = headDim / 2
        let p = Float(position) * positionScale
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
