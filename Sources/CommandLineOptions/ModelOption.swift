import ArgumentParser
import EngineWorker
import ModelFormats

/// `--model PATH`, shared by the subcommands that load a model: a HuggingFace directory or a GGUF file, the
/// default model when omitted.
public struct ModelOption: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "A HuggingFace model directory or a .gguf file (default: SmolLM2-135M-Instruct from .cache/models).")
    public var model: String?

    public func resolvedPath() throws -> String {
        if let model { return model }
        do { return try DefaultModel.locate() } catch { throw ValidationError(error.description) }
    }
}

extension WeightPrecision: ExpressibleByArgument {}

/// `--dtype fp32|fp8`: how the linear layers' weights are held (fp8: E4M3 with a per-output-channel scale,
/// quantised at load).
public struct DTypeOption: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "Linear-layer weights: fp32, or fp8 (E4M3, per-output-channel scale, quantised at load).")
    public var dtype: WeightPrecision = .fp32
}
