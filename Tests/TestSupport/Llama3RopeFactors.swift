import Foundation

/// The `rope_freqs.weight` tensor llama.cpp's converter writes for `rope_scaling.rope_type: "llama3"`
/// (`LlamaModel.generate_extra_tensors`): one factor per rotated pair by which llama.cpp divides that pair's RoPE
/// frequency — 1 for high frequencies (wavelength < original context / high_freq_factor), `factor` for low ones
/// (wavelength > original context / low_freq_factor), a smooth blend between. Neither the scaling type nor its
/// parameters are written as metadata; this tensor is all a llama3-scaled GGUF has.
enum Llama3RopeFactors {
    /// The `headDim / 2` factors, computed in float32 step by step as the converter's torch code does
    /// (`1.0 / t` and `x / t` are a float32 reciprocal, then a product).
    static func factors(headDim: Int, ropeTheta: Double, scaling: [String: Any]) -> [Float] {
        func parameter(_ key: String, _ fallback: Double) -> Double { (scaling[key] as? NSNumber)?.doubleValue ?? fallback }
        let factor = Float(parameter("factor", 8))
        let lowFreqFactor = Float(parameter("low_freq_factor", 1)), highFreqFactor = Float(parameter("high_freq_factor", 4))
        let oldContext = parameter("original_max_position_embeddings", 8192)
        let lowFreqWavelength = Float(oldContext / Double(lowFreqFactor))
        let highFreqWavelength = Float(oldContext / Double(highFreqFactor))
        return stride(from: 0, to: headDim, by: 2).map { i in
            let frequency = 1 / powf(Float(ropeTheta), Float(i) / Float(headDim))
            let wavelength = (1 / frequency) * Float(2 * Double.pi)
            if wavelength < highFreqWavelength { return 1 }
            if wavelength > lowFreqWavelength { return factor }
            let smooth = ((1 / wavelength) * Float(oldContext) - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }
}
