import Foundation

/// How a model stretches its rotary position embedding beyond the context it was trained on, as config.json's
/// `rope_scaling` (or a GGUF's `rope.scaling.*` keys and `rope_freqs` tensor) says. Each kind changes the inverse
/// frequencies RoPE rotates by; anything else is refused at load rather than computed wrongly.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Every frequency divided by `factor` (positions interpolated).
    case linear(factor: Float)
    /// Llama 3.1's frequency-dependent scaling: long wavelengths divided by `factor`, short ones kept, a smooth
    /// blend between (transformers' `_compute_llama3_parameters`).
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContext: Int)
    /// Per-frequency divisors as llama.cpp stores them in a GGUF's `rope_freqs.weight` (its form of `llama3`).
    case frequencyFactors([Float])

    /// The `headDim / 2` inverse frequencies of RoPE with base `theta`, scaled; computed in float32 as
    /// transformers does (`1 / theta^(2i/d)`), so long prompts keep matching its logits.
    public func inverseFrequencies(headDim: Int, theta: Float) -> [Float] {
        let base = (0..<(headDim / 2)).map { i in 1 / Float(pow(Double(theta), Double(Float(2 * i) / Float(headDim)))) }
        switch self {
        case .none: return base
        case .linear(let factor): return base.map { $0 / factor }
        case .frequencyFactors(let factors): return zip(base, factors).map { $0 / $1 }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Float(original) / low, highWavelength = Float(original) / high
            return base.map { frequency in
                let wavelength = 2 * Float.pi / frequency
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / factor }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
        }
    }
}

/// The attention of one decoder layer: the window of past positions it sees (nil: all of them) and its RoPE.
/// Gemma interleaves sliding-window layers with a local RoPE base and global layers with another; Mistral
/// slides every layer; most families have one kind for all layers.
public struct LayerAttention: Sendable, Equatable {
    /// Positions a query sees, itself included (`sliding_window`): keys at `position - window + 1 ... position`.
    public var window: Int?
    public var ropeTheta: Float
    public var ropeScaling: RopeScaling

    public init(window: Int?, ropeTheta: Float, ropeScaling: RopeScaling) {
        self.window = window
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
    }
}

/// A sparse mixture-of-experts MLP (Mixtral): a router picks `expertsPerToken` of `expertCount` expert MLPs per
/// token by softmax over its logits, and their outputs are summed weighted by the renormalised top-k probabilities.
public struct MixtureOfExperts: Sendable, Equatable {
    public var expertCount: Int
    public var expertsPerToken: Int

    public init(expertCount: Int, expertsPerToken: Int) {
        self.expertCount = expertCount
        self.expertsPerToken = expertsPerToken
    }
}

/// The activation of a gated MLP: `act(gate) * up`.
public enum GatedActivation: String, Sendable, Equatable {
    /// `x · sigmoid(x)` (SwiGLU): Llama, Mistral, Qwen, Phi-3, Mixtral.
    case silu
    /// GELU with the tanh approximation (`gelu_pytorch_tanh`, GeGLU): Gemma.
    case geluTanh
}
