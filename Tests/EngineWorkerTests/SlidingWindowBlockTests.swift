import XCTest
import Foundation
import Kernels
import ModelFormats
import TestSupport
@testable import EngineWorker

/// A model whose every layer slides (the Mistral fixture, window 12) frees a sequence's KV blocks once every window
/// has passed them: sequences longer than the whole pool complete with transformers' tokens, at most window + one
/// chunk of blocks are held per sequence, and everything is returned at the end. A model with a global layer
/// (Gemma 3's fixture) keeps every block.
final class SlidingWindowBlockTests: XCTestCase {
    private func engine(_ family: String, blocks: Int) throws -> Engine {
        let model = try DecoderModel(checkpoint: ModelCheckpoint(path: SharedData.archFixtureDirectory(family)), precision: .fp32)
        let c = model.config
        let bytesPerBlock = KVCache.bytesPerBlock(layerCount: c.layerCount,
                                                  layout: PagedKVLayout(blockSize: 4, kvHeadCount: c.kvHeadCount, headDim: c.headDim))
        return try Engine(model: model, configuration: EngineConfiguration(
            kvCacheBytes: blocks * bytesPerBlock, blockSize: 4, kvCacheDType: .auto,
            scheduler: SchedulerConfiguration(maxBatchedTokens: 4, maxSequences: 4)))
    }

    func testAllSlidingModelFreesBlocksBehindTheWindow() throws {
        let cases = try SharedData.archFixtureCases("mistral-sliding-window")
        // Longest case: 41 + 24 tokens = 17 blocks of 4, in a pool of 6 (window 12 + a 4-token chunk = 5 blocks).
        let engine = try engine("mistral-sliding-window", blocks: 6)
        XCTAssertEqual(engine.config.windowOfEveryLayer, 12)
        for (index, goldenCase) in cases.enumerated() {
            let expected = goldenCase.tokenIDs("continuation_token_ids")
            try engine.add(GenerationRequest(id: UInt64(index), promptTokens: goldenCase.tokenIDs("prompt_token_ids"),
                                             maxTokens: expected.count))
            var tokens: [Int32] = [], mostUsed = 0
            for _ in 0..<200 where engine.hasWork {
                for output in engine.step() { tokens += output.tokens }
                mostUsed = max(mostUsed, engine.statistics.blocksUsed)
            }
            XCTAssertEqual(tokens, expected, "case \(index)")
            XCTAssertLessThanOrEqual(mostUsed, 5, "case \(index): blocks held at once")
            XCTAssertEqual(engine.statistics.blocksUsed, 0, "case \(index): blocks returned")
        }
    }

    func testModelWithGlobalLayersKeepsItsBlocks() throws {
        let engine = try engine("gemma3", blocks: 64)
        XCTAssertNil(engine.config.windowOfEveryLayer)
        let goldenCase = try XCTUnwrap(try SharedData.archFixtureCases("gemma3").max { $0.tokenIDs("prompt_token_ids").count < $1.tokenIDs("prompt_token_ids").count })
        let prompt = goldenCase.tokenIDs("prompt_token_ids")
        try engine.add(GenerationRequest(id: 1, promptTokens: prompt, maxTokens: 8))
        var mostUsed = 0
        for _ in 0..<100 where engine.hasWork {
            _ = engine.step()
            mostUsed = max(mostUsed, engine.statistics.blocksUsed)
        }
        // Seen after each step but the last (which ends the sequence): the prompt and 6 generated tokens computed.
        XCTAssertEqual(mostUsed, (prompt.count + 6 + 3) / 4, "every block of the sequence held until it ends")
    }
}
