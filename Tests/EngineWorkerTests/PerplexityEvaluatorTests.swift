import XCTest
import Foundation
import Kernels
import ModelFormats
import TestSupport
import Tokenizers
@testable import EngineWorker

/// `PerplexityEvaluator` on stories260K: every window's negative log-likelihoods agree with the serving path run
/// token by token (one decode step per token, logits of the last row only, log-softmax computed here), whatever
/// the window and chunk sizes; the shipped story scores far better than its own words shuffled; bad windows and
/// texts are refused with their errors.
final class PerplexityEvaluatorTests: XCTestCase {
    private static let loaded: Result<(model: DecoderModel, tokenizer: Tokenizer), Error> = Result {
        let checkpoint = try ModelCheckpoint(path: SharedData.storiesDirectory)
        return (try DecoderModel(checkpoint: checkpoint), try Tokenizer.load(checkpoint: checkpoint))
    }

    private func evaluator(context: Int, chunk: Int = 512) throws -> PerplexityEvaluator {
        try PerplexityEvaluator(model: Self.loaded.get().model, context: context,
                                configuration: EngineConfiguration(kvCacheBytes: 0, scheduler: SchedulerConfiguration(maxBatchedTokens: chunk)))
    }

    /// The reference: `window` fed one token per forward step through a fresh cache, each step's logits (the last
    /// row, as when sampling) turned into `-log p(next token)` by a plain float64 log-sum-exp.
    private func decodeStepNLLs(_ window: ArraySlice<Int32>) throws -> [Double] {
        let model = try Self.loaded.get().model
        let c = model.config
        let layout = PagedKVLayout(blockSize: 16, kvHeadCount: c.kvHeadCount, headDim: c.headDim)
        let blockCount = (window.count + 15) / 16
        let cache = KVCache(layerCount: c.layerCount, layout: layout, blockCount: blockCount)
        let blocks = (0..<Int32(blockCount)).map { $0 }
        var nll: [Double] = []
        for (position, token) in window.dropLast().enumerated() {
            var batch = ForwardBatch()
            batch.append(tokens: [token], firstPosition: position, blockTable: blocks)
            let logits = model.forward(batch, cache: cache).map(Double.init)
            let top = logits.max()!
            let logSumExp = top + log(logits.reduce(0) { $0 + exp($1 - top) })
            nll.append(logSumExp - logits[Int(window[window.startIndex + position + 1])])
        }
        return nll
    }

    func testWindowsAgreeWithTokenByTokenDecode() throws {
        let tokens = try Self.loaded.get().tokenizer.encode(String(Fixtures.perplexityText().prefix(400)))
        XCTAssertGreaterThan(tokens.count, 100)
        XCTAssertEqual(tokens.first, 1, "stories260K's tokenizer adds BOS")
        // Whole text in one window and one chunk; windows of 40 in chunks of 7 (a chunk boundary inside a KV block).
        for (context, chunk) in [(tokens.count, 512), (40, 7)] {
            let evaluator = try evaluator(context: context, chunk: chunk)
            var total = 0.0, scored = 0, windows = 0
            for start in stride(from: 0, to: tokens.count, by: context) {
                let window = tokens[start..<min(start + context, tokens.count)]
                let ours = evaluator.negativeLogLikelihoods(window: window), reference = try decodeStepNLLs(window)
                XCTAssertEqual(ours.count, window.count - 1)
                for (position, (a, b)) in zip(ours, reference).enumerated() {
                    XCTAssertEqual(a, b, accuracy: max(1e-4 * abs(b), 1e-6), "context \(context), window at \(start), position \(position + 1)")
                }
                total += reference.reduce(0, +)
                scored += reference.count
                windows += 1
            }
            let result = try evaluator.evaluate(tokens)
            XCTAssertEqual(result.windows, windows)
            XCTAssertEqual(result.tokens, tokens.count - windows)
            XCTAssertEqual(result.tokens, scored)
            XCTAssertEqual(result.meanNLL, total / Double(scored), accuracy: 1e-4 * total / Double(scored))
            XCTAssertEqual(result.perplexity, exp(result.meanNLL))
            XCTAssertEqual(try evaluator.evaluate(tokens), result, "deterministic")
        }
    }

    /// The model was trained on children's stories: the shipped one is easy for it; the same words in a random
    /// order are not.
    func testStoryScoresFarBetterThanShuffledWords() throws {
        let text = try Fixtures.perplexityText()
        var random = TestRandom(seed: 7)
        let shuffled = random.shuffled(text.split(whereSeparator: \.isWhitespace).map(String.init)).joined(separator: " ")
        let tokenizer = try Self.loaded.get().tokenizer
        let story = tokenizer.encode(text), noise = tokenizer.encode(shuffled)
        let context = try Self.loaded.get().model.config.maxPositionEmbeddings
        XCTAssertGreaterThan(story.count, context, "the passage spans more than one window of stories260K")
        let evaluator = try evaluator(context: context)
        let storyResult = try evaluator.evaluate(story), noiseResult = try evaluator.evaluate(noise)
        print(String(format: "stories260K perplexity: story %.3f over %d tokens, shuffled words %.3f over %d tokens",
                     storyResult.perplexity, storyResult.tokens, noiseResult.perplexity, noiseResult.tokens))
        XCTAssertEqual(storyResult.windows, (story.count + context - 1) / context)
        XCTAssertLessThan(storyResult.perplexity, 10)
        XCTAssertGreaterThan(noiseResult.perplexity, 2 * storyResult.perplexity)
    }

    func testRefusals() throws {
        let modelContext = try Self.loaded.get().model.config.maxPositionEmbeddings
        XCTAssertThrowsError(try evaluator(context: 1)) { XCTAssertEqual($0 as? PerplexityError, .contextTooShort(1)) }
        XCTAssertThrowsError(try evaluator(context: modelContext + 1)) {
            XCTAssertEqual($0 as? PerplexityError, .contextTooLong(modelContext + 1, modelContext: modelContext))
        }
        let tokenizer = try Self.loaded.get().tokenizer
        XCTAssertThrowsError(try evaluator(context: 8).evaluate(tokenizer.encode(""))) {
            XCTAssertEqual($0 as? PerplexityError, .tooFewTokens(1))
        }
    }
}
