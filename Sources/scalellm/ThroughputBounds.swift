import EngineWorker
import ModelFormats

/// What the machine allows a model: decode reads every weight once per step (bandwidth bound, shared by all
/// sequences of the batch), and every token costs two FLOPs per weight (compute bound).
struct ThroughputBounds {
    let flopsPerToken: Double
    let weightBytes: Double
    let machine: MachineBenchmark.Result

    /// - Parameter weightBytes: bytes of weights read per decode step (all of them, for fp32 or fp8 alike).
    init(config c: ModelConfig, weightBytes: Int, machine: MachineBenchmark.Result) {
        // 2 FLOPs per weight of every linear layer and the LM head (attention adds little at these lengths).
        let linearWeights = c.layerCount * c.hiddenSize * (c.queryDim + 2 * c.kvDim + c.queryDim + 3 * c.intermediateSize)
            + c.vocabSize * c.hiddenSize
        flopsPerToken = 2 * Double(linearWeights)
        self.weightBytes = Double(weightBytes)
        self.machine = machine
    }

    /// Tokens/s when prefilling (compute bound).
    var prefill: Double { machine.sgemmGFLOPS * 1e9 / flopsPerToken }

    /// Tokens/s when decoding `batch` sequences: the lower of the bandwidth and compute bounds.
    func decode(batch: Int) -> Double { min(Double(batch) * machine.readBandwidth / weightBytes, prefill) }
}
