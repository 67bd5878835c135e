import ArgumentParser
import CommandLineOptions
import EngineWorker
import Foundation
import LoopIO
import Kernels
import ModelFormats
import Tokenizers

/// `scalellm generate`: runs the model in this process on one prompt and prints the continuation as it is
/// produced, then the prompt (prefill) and generation (decode) rates on standard error.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate a continuation of a prompt locally.")

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var dtypeOption: DTypeOption
    @OptionGroup var kvCacheDTypeOption: KVCacheDTypeOption
    @Option(help: "The prompt text.") var prompt: String
    @Option(help: "Maximum number of tokens to generate.") var maxTokens: Int = 64
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0
    @Option(help: "Nucleus sampling: keep the most likely tokens up to this probability mass.") var topP: Float = 1
    @Option(help: "Keep only the k most likely tokens (0: all).") var topK: Int = 0
    @Option(help: "Seed for reproducible sampling.") var seed: UInt64?
    @Flag(help: "Do not stop at the end-of-sequence token.") var ignoreEOS = false
    @Option(help: "Kernel threads (default: all cores).") var threads: Int?

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        ParallelLoop.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let (checkpoint, tokenizer) = try loadModel(modelOption.resolvedPath())
        let model = try DecoderModel(checkpoint: checkpoint, precision: dtypeOption.dtype)
        let promptTokens = tokenizer.encode(prompt)
        let kvDType = kvCacheDTypeOption.kvCacheDType.resolved(for: model.precision)
        let engine = try Engine(model: model, configuration: EngineConfiguration(
            kvCacheBytes: Engine.kvBytes(forTokens: promptTokens.count + maxTokens, config: model.config, dtype: kvDType),
            kvCacheDType: .fixed(kvDType)))
        let request = GenerationRequest(
            id: 1, promptTokens: promptTokens, maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed),
            stopTokenIDs: ignoreEOS ? [] : Set(model.config.eosTokenIDs))
        do { try engine.validate(request) } catch { throw ValidationError(error.description) }

        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: promptTokens)
        let start = monotonicSeconds()
        var tokenTimes: [Double] = []
        try engine.generate(request) { token in
            tokenTimes.append(monotonicSeconds())
            FileHandle.standardOutput.write(Data(detokenizer.append([token]).utf8))
            return true
        }
        FileHandle.standardOutput.write(Data((detokenizer.finish() + "\n").utf8))

        let prefillSeconds = tokenTimes[0] - start
        var report = String(format: "prompt: %d tokens in %.3f s (%.1f tokens/s)", promptTokens.count, prefillSeconds,
                            Double(promptTokens.count) / prefillSeconds)
        if tokenTimes.count > 1 {
            let decodeSeconds = tokenTimes.last! - tokenTimes[0]
            report += String(format: "; generation: %d tokens in %.3f s (%.1f tokens/s)", tokenTimes.count - 1, decodeSeconds,
                             Double(tokenTimes.count - 1) / decodeSeconds)
        }
        FileHandle.standardError.write(Data((report + "\n").utf8))
    }
}

/// Opens a checkpoint and its tokenizer, turning format errors into a clean CLI failure.
func loadModel(_ path: String) throws -> (ModelCheckpoint, Tokenizer) {
    do {
        let checkpoint = try ModelCheckpoint(path: path)
        return (checkpoint, try Tokenizer.load(checkpoint: checkpoint))
    } catch let error as ModelFormatError {
        throw ValidationError(error.description)
    }
}
