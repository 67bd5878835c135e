import ArgumentParser
import Foundation
import EngineWorker
import Kernels

/// `scalellm bench sampler`: microseconds per sampled token for one sequence over a vocabulary of SmolLM2's size,
/// for the settings the API sees: greedy, plain temperature (the API default), top-p, top-k and log-probabilities.
/// Sampling runs once per sequence per decode step, so its cost adds to every step of a large batch.
struct SamplerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sampler", abstract: "Microseconds per sampled token.")

    @Option(help: "Vocabulary size.") var vocab: Int = 49152
    @Option(help: "Standard deviation of the random logits (larger: a more peaked distribution).") var spread: Float = 3
    @Option(help: "Samples per run.") var samples: Int = 2000
    @Option(help: "Runs; the median is reported.") var runs: Int = 5

    func run() {
        // A few distinct rows of logits, used in turn, like the rows of a batch.
        let rowCount = 8
        var generator = SplitMix64(seed: 7)
        let logits = (0..<(rowCount * vocab)).map { _ in generator.nextGaussianish() * spread }
        let settings: [(String, SamplingParameters)] = [
            ("temperature 0 (greedy)", SamplingParameters(temperature: 0, seed: 1)),
            ("temperature 1", SamplingParameters(temperature: 1, seed: 1)),
            ("temperature 1, top_p 0.9", SamplingParameters(temperature: 1, topP: 0.9, seed: 1)),
            ("temperature 1, top_k 40", SamplingParameters(temperature: 1, topK: 40, seed: 1)),
            ("temperature 1, top_logprobs 5", SamplingParameters(temperature: 1, seed: 1, topLogprobs: 5)),
        ]
        print("vocabulary \(vocab), logits ~ N(0, \(spread)²), \(samples) samples per run, median of \(runs) runs, one thread")
        print("")
        print("| setting | µs per sample |")
        print("|---|---:|")
        logits.withUnsafeBufferPointer { rows in
            for (name, parameters) in settings {
                var sampler = Sampler(parameters)
                let seconds = median((0..<runs).map { _ in
                    time {
                        for s in 0..<samples { _ = sampler.next(rows.baseAddress! + (s % rowCount) * vocab, count: vocab) }
                    }
                })
                print(String(format: "| %@ | %.1f |", name, seconds / Double(samples) * 1e6))
            }
        }
    }
}
