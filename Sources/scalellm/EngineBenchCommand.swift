import ArgumentParser
import CommandLineOptions
import EngineWorker
import Foundation
import Kernels
import ModelFormats
import Tokenizers

/// `scalellm bench engine`: output tokens/s of the engine alone (no gateway, no sockets) as the batch grows, with
/// fixed prompt and output lengths, beside the bound the machine implies at each batch size.
struct EngineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Engine throughput at batch 1…64.")

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var dtypeOption: DTypeOption
    @OptionGroup var kvCacheDTypeOption: KVCacheDTypeOption
    @Option(help: "Batch sizes (concurrent sequences), comma-separated.") var batchSizes: String = "1,2,4,8,16,32,64"
    @Option(help: "Prompt length in tokens.") var promptTokens: Int = 64
    @Option(help: "Tokens generated per sequence (EOS ignored).") var outputTokens: Int = 64
    @Option(help: "Runs per batch size; the median is reported.") var runs: Int = 3
    @Option(help: "Sampling temperature (0: greedy; the API default is 1).") var temperature: Float = 0
    @Option(help: "Kernel threads (default: all cores).") var threads: Int?

    func run() throws {
        let sizes = batchSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--batch-sizes must list positive integers") }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        ParallelLoop.setThreadCount(threadCount)
        let (checkpoint, tokenizer) = try loadModel(modelOption.resolvedPath())
        let model = try DecoderModel(checkpoint: checkpoint, precision: dtypeOption.dtype)
        let c = model.config
        let kvDType = kvCacheDTypeOption.kvCacheDType.resolved(for: model.precision)
        let text = tokenizer.encode("""
            Once upon a time, in a village between two hills, a baker and a blacksmith argued every morning about \
            whose work woke the town first. The children listened from the well and kept score in chalk.
            """, addSpecialTokens: false)

        var rows: [(batch: Int, rate: Double, runs: [Double], stepMs: Double)] = []
        for batch in sizes {
            var rates: [Double] = [], stepTimes: [Double] = []
            for _ in 0..<runs {
                // Prefix caching off and distinct prompts, so every sequence really computes its prompt.
                let engine = try Engine(model: model, configuration: EngineConfiguration(
                    kvCacheBytes: batch * Engine.kvBytes(forTokens: promptTokens + outputTokens, config: c, dtype: kvDType),
                    kvCacheDType: .fixed(kvDType), prefixCaching: false,
                    scheduler: SchedulerConfiguration(maxBatchedTokens: max(512, batch), maxSequences: batch)))
                for i in 0..<batch {
                    let prompt = (0..<promptTokens).map { text[($0 + 7 * i) % text.count] }
                    try engine.add(GenerationRequest(id: UInt64(i + 1), promptTokens: prompt, maxTokens: outputTokens,
                                                     sampling: SamplingParameters(temperature: temperature, seed: UInt64(i + 1))))
                }
                var generated = 0, steps = 0
                let seconds = time {
                    while engine.hasWork && steps < 100_000 {
                        generated += engine.step().reduce(0) { $0 + $1.tokens.count }
                        steps += 1
                    }
                }
                rates.append(Double(generated) / seconds)
                stepTimes.append(seconds / Double(steps) * 1000)
            }
            rows.append((batch, median(rates), rates, median(stepTimes)))
            FileHandle.standardError.write(Data(String(format: "batch %d: %.1f tokens/s\n", batch, median(rates)).utf8))
        }
        let machine = MachineBenchmark(repetitions: 3).run(threads: threadCount)
        let bounds = ThroughputBounds(config: c, weightBytes: model.weightBytesReadPerStep, machine: machine)

        print("model: \(checkpoint.modelID), \(model.precision) weights \(ByteSize(bytes: model.weightBytes)) (\(ByteSize(bytes: model.weightBytesReadPerStep)) read per step), \(kvDType) KV cache; prompt \(promptTokens) + output \(outputTokens) tokens per sequence; temperature \(temperature); \(runs) runs; \(threadCount) kernel threads")
        print(String(format: "machine: sgemm %.1f GFLOP/s, read bandwidth %.1f GB/s", machine.sgemmGFLOPS, machine.readBandwidth / 1e9))
        print("")
        print("| batch | output tokens/s (median) | runs | × batch 1 | mean step ms | decode bound tokens/s | % of bound |")
        print("|---:|---:|---|---:|---:|---:|---:|")
        let base = rows.first { $0.batch == 1 }?.rate ?? rows[0].rate
        for row in rows {
            let bound = bounds.decode(batch: row.batch)
            print(String(format: "| %d | %.1f | %@ | %.1f× | %.1f | %.0f | %.0f%% |", row.batch, row.rate,
                         row.runs.map { String(format: "%.0f", $0) }.joined(separator: ", "), row.rate / base, row.stepMs,
                         bound, 100 * row.rate / bound))
        }
    }
}
