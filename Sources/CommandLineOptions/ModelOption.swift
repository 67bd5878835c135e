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

/// `--dtype auto|fp32|fp8|q8_0|q4_0`: how the linear layers' weights are held and computed on (auto: the
/// checkpoint's own GGUF encoding).
public struct DTypeOption: ParsableArguments {
    public init() {}

    @Option(name: .long, help: """
        Linear-layer weights: auto (a GGUF's quantised tensors as they are, computed on as integers; float tensors \
        as fp32), fp32 (exact), fp8 (E4M3, per-output-channel scale), q8_0 or q4_0 (quantised at load as \
        llama.cpp does).
        """)
    public var dtype: WeightPrecision = .auto
}
