import BLAS
import ArgumentParser
import CommandLineOptions
import EngineWorker
import Foundation
import LoopIO
import Kernels
import ModelFormats
import Tokenizers

/// `scalellm bench`: benchmarks that print tables. Performance is measured here, never in timed unit tests.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Run benchmarks and print tables.",
                                                    subcommands: [MachineCommand.self, GenerateBenchCommand.self, EngineBenchCommand.self,
                                                                  ServeBenchCommand.self, GatewayBenchCommand.self, LinearBenchCommand.self,
                                                                  SamplerBenchCommand.self])

    /// `scalellm bench machine`: the machine's sgemm and memory-bandwidth ceilings.
    struct MachineCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "machine", abstract: "Measure sgemm GFLOP/s and memory bandwidth.")

        func run() {
            OpenBLASEnvironment.ensureSetOrReexec()
            print("| threads | sgemm GFLOP/s (1024³) | read GB/s | memcpy GB/s (r+w) | BLAS core |")
            print("|---:|---:|---:|---:|---|")
            for threads in Set([1, ProcessInfo.processInfo.activeProcessorCount]).sorted() {
                let r = MachineBenchmark().run(threads: threads)
                print(String(format: "| %d | %.1f | %.1f | %.1f | %@ |", threads, r.sgemmGFLOPS, r.readBandwidth / 1e9,
                             r.copyBandwidth / 1e9, Gemm.coreName))
            }
        }
    }
}

/// `scalellm bench generate`: single-stream prefill and decode rates of the engine on a model (median of several
/// runs), beside the bounds this machine implies: weight bytes ÷ read bandwidth for decode, FLOPs per token ÷
/// sgemm rate for prefill.
struct GenerateBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Single-stream prefill and decode tokens/s.")

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var dtypeOption: DTypeOption
    @OptionGroup var kvCacheDTypeOption: KVCacheDTypeOption
    @Option(help: "Prompt length in tokens.") var promptTokens: Int = 256
    @Option(help: "Tokens to generate (EOS ignored).") var outputTokens: Int = 128
    @Option(help: "Number of runs; the median is reported.") var runs: Int = 5
    @Option(help: "Kernel threads (default: all cores).") var threads: Int?

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        ParallelLoop.setThreadCount(threadCount)
        let path = try modelOption.resolvedPath()
        let (checkpoint, tokenizer) = try loadModel(path)
        let model = try DecoderModel(checkpoint: checkpoint, precision: dtypeOption.dtype)
        let c = model.config
        let prompt = benchmarkPrompt(tokenizer: tokenizer, length: promptTokens)
        // Prefix caching off: every run must prefill the whole prompt, not find it cached by the run before.
        let kvDType = kvCacheDTypeOption.kvCacheDType.resolved(for: model.precision)
        let engine = try Engine(model: model, configuration: EngineConfiguration(
            kvCacheBytes: Engine.kvBytes(forTokens: promptTokens + outputTokens, config: c, dtype: kvDType),
            kvCacheDType: .fixed(kvDType), prefixCaching: false))
        let request = GenerationRequest(id: 1, promptTokens: prompt, maxTokens: outputTokens)
        do { try engine.validate(request) } catch { throw ValidationError(error.description) }

        var prefillRates: [Double] = [], decodeRates: [Double] = []
        for _ in 0..<runs {
            let start = monotonicSeconds()
            var times: [Double] = []
            try engine.generate(request) { _ in times.append(monotonicSeconds()); return true }
            prefillRates.append(Double(prompt.count) / (times[0] - start))
            decodeRates.append(Double(times.count - 1) / (times.last! - times[0]))
        }
        let bounds = MachineBenchmark(repetitions: 3).run(threads: threadCount)
        ParallelLoop.setThreadCount(threadCount)

        let bound = ThroughputBounds(config: c, weightBytes: model.weightBytesReadPerStep, machine: bounds)
        let decodeBound = bound.decode(batch: 1), prefillBound = bound.prefill
        let prefill = median(prefillRates), decode = median(decodeRates)

        print("model: \(checkpoint.modelID) (\(c.layerCount) layers, hidden \(c.hiddenSize)), \(model.precision) weights: "
              + "\(ByteSize(bytes: model.weightBytes)) held, \(ByteSize(bytes: model.weightBytesReadPerStep)) read per decode step, \(kvDType) KV cache")
        print("prompt \(prompt.count) tokens, \(outputTokens) generated, \(runs) runs, \(threadCount) kernel threads")
        print("")
        print("| phase | median tokens/s | runs (tokens/s) | bound tokens/s | bound from | % of bound |")
        print("|---|---:|---|---:|---|---:|")
        print(String(format: "| prefill | %.1f | %@ | %.0f | %.1f GFLOP/s sgemm ÷ %.2f GFLOP/token | %.0f%% |", prefill,
                     prefillRates.map { String(format: "%.0f", $0) }.joined(separator: ", "), prefillBound,
                     bounds.sgemmGFLOPS, bound.flopsPerToken / 1e9, 100 * prefill / prefillBound))
        print(String(format: "| decode | %.1f | %@ | %.1f | %.1f GB/s read ÷ %.0f MB weights | %.0f%% |", decode,
                     decodeRates.map { String(format: "%.1f", $0) }.joined(separator: ", "), decodeBound,
                     bounds.readBandwidth / 1e9, Double(model.weightBytesReadPerStep) / 1e6, 100 * decode / decodeBound))
    }

    /// A fixed English text, tokenized and repeated to exactly `length` tokens.
    private func benchmarkPrompt(tokenizer: Tokenizer, length: Int) -> [Int32] {
        let text = """
        The river ran past the old mill where the children played every summer. Their grandmother told them stories \
        about the years when the wheel still turned and the village baked its bread from the flour ground there. 
        """
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        return (0..<length).map { ids[$0 % ids.count] }
    }
}
