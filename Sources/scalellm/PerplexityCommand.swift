import ArgumentParser
import CommandLineOptions
import EngineWorker
import Foundation
import LoopIO
import Kernels

/// `scalellm perplexity`: how well the model, as loaded with the given weight format, predicts a text — the
/// number to compare across `--dtype` settings to see what a quantisation costs (docs/perplexity.md).
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Score a text file: tokens scored, mean negative log-likelihood and perplexity.")

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var dtypeOption: DTypeOption
    @OptionGroup var kvCacheDTypeOption: KVCacheDTypeOption
    @Option(help: "The text file to score (UTF-8).") var file: String
    @Option(help: "Tokens per window (default: the whole text if it fits in the model's context length, else that length); each window's first token is not scored.")
    var context: Int?
    @Flag(help: "Print one JSON object: tokens, mean_nll, perplexity.") var json = false
    @Option(help: "Kernel threads (default: all cores).") var threads: Int?

    func run() throws {
        let text = try readText()
        ParallelLoop.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let (checkpoint, tokenizer) = try loadModel(modelOption.resolvedPath())
        let model = try DecoderModel(checkpoint: checkpoint, precision: dtypeOption.dtype)
        let tokens = tokenizer.encode(text)
        let window = context ?? PerplexityEvaluator.defaultContext(tokenCount: tokens.count, config: model.config)
        // The engine's defaults (block size, chunk size); the evaluator sizes the KV cache for one window itself.
        let evaluator = try PerplexityEvaluator(model: model, context: window,
                                                configuration: EngineConfiguration(kvCacheBytes: 0, kvCacheDType: kvCacheDTypeOption.kvCacheDType))
        let start = monotonicSeconds()
        let result = try evaluator.evaluate(tokens)
        let seconds = monotonicSeconds() - start

        if json {
            let object: [String: Any] = ["tokens": result.tokens, "mean_nll": result.meanNLL, "perplexity": result.perplexity]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("tokens scored: \(result.tokens) of \(tokens.count) (\(result.windows) window(s) of up to \(window) tokens)")
            print(String(format: "mean NLL: %.6f", result.meanNLL))
            print(String(format: "perplexity: %.4f", result.perplexity))
        }
        let rate = String(format: "%d tokens in %.3f s (%.1f tokens/s)", tokens.count, seconds, Double(tokens.count) / seconds)
        FileHandle.standardError.write(Data("\(rate), dtype \(model.precision)\n".utf8))
    }

    /// The file's text, read before the model is loaded so that a bad path fails at once.
    private func readText() throws(TextFileError) -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw .unreadable(path: file, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8(path: file) }
        return text
    }
}
