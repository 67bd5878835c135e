import XCTest
import Foundation
import Kernels
import ModelFormats
import TestSupport
@testable import EngineWorker

/// Gemma 3 270M (Q4_K_M GGUF, fetched by scripts/setup.sh) against transformers run on the exact dequantisation
/// of the same file: the config llama.cpp's converter wrote is read as transformers reads the original; at fp32
/// every case's greedy tokens (as far as `safe_steps`, the steps with a clear top-1 margin) and top-5 logits match,
/// including a 775-token prompt that crosses the 512-token sliding window; the long prompt gives the same tokens
/// batched with others, in small prefill chunks and from the prefix cache; at the default dtype the perplexity on
/// the shared passage is within 1% of transformers'.
final class Gemma3Tests: XCTestCase {
    private static let model = "gemma3-270m-q4_k_m"
    private static let checkpoint = Result { try ModelCheckpoint(path: ModelCache.require(ModelCache.gemma3GGUF)) }
    private static let fp32 = Result { try DecoderModel(checkpoint: checkpoint.get(), precision: .fp32) }

    func testConfigFromGGUF() throws {
        let c = try Self.checkpoint.get().config
        XCTAssertEqual(c.family, .gemma3)
        XCTAssertEqual([c.hiddenSize, c.layerCount, c.headCount, c.kvHeadCount, c.headDim, c.intermediateSize, c.vocabSize],
                       [640, 18, 4, 1, 256, 2048, 262_144])
        let local = LayerAttention(window: 512, ropeTheta: 10000, ropeScaling: .none)
        let global = LayerAttention(window: nil, ropeTheta: 1_000_000, ropeScaling: .none)
        XCTAssertEqual(c.layers, (0..<18).map { ($0 + 1) % 6 == 0 ? global : local }, "five sliding layers to one global")
        XCTAssertTrue(c.queryKeyNorm && c.sandwichNorms && c.tieWordEmbeddings)
        XCTAssertEqual(c.normWeightOffset, 0, "the GGUF stores 1 + w")
        XCTAssertEqual(c.activation, .geluTanh)
        XCTAssertEqual(c.embeddingScale, Float(640.0.squareRoot()))
        XCTAssertEqual(c.attentionScale, 1.0 / 16, "query_pre_attn_scalar = head_dim = 256")
        XCTAssertNil(c.attentionSoftCap)
        XCTAssertNil(c.finalLogitSoftCap)
    }

    func testGreedyMatchesTransformersAtFP32() throws {
        let model = try Self.fp32.get()
        for goldenCase in try SharedData.goldenCases(Self.model, "generation.json") {
            let id = goldenCase["id"] as! String
            let safe = (goldenCase["safe_steps"] as! NSNumber).intValue
            let expected = goldenCase.tokenIDs("continuation_token_ids")
            let run = try GreedyRun(model: model, prompt: goldenCase.tokenIDs("prompt_token_ids"), count: safe)
            XCTAssertEqual(run.tokens, Array(expected.prefix(safe)), "\(id): greedy tokens")
            for top in goldenCase["top5_first_positions"] as! [[String: Any]] {
                let position = (top["position"] as! NSNumber).intValue
                guard position < safe else { continue }
                for (tokenID, value) in zip(top.tokenIDs("ids"), (top["logits"] as! [NSNumber]).map(\.floatValue)) {
                    XCTAssertEqual(run.stepLogits[position][Int(tokenID)], value, accuracy: 2e-3,
                                   "\(id): logit of token \(tokenID) at step \(position)")
                }
            }
        }
    }

    /// The long prompt through the engine at the default dtype: alone with the whole prompt in one step; batched
    /// with three other prompts in 64-token prefill chunks; and again from the prefix cache — the same tokens.
    func testLongPromptBatchedChunkedAndPrefixCachedAgree() throws {
        let model = try DecoderModel(checkpoint: Self.checkpoint.get(), precision: .auto)
        let cases = try SharedData.goldenCases(Self.model, "generation.json")
        let long = try XCTUnwrap(cases.first { $0["id"] as? String == "long_harbour_sliding_window" })
        let others = cases.filter { $0["id"] as? String != "long_harbour_sliding_window" }.prefix(3)
        let c = model.config
        let bytesPerBlock = KVCache.bytesPerBlock(layerCount: c.layerCount, layout: PagedKVLayout(blockSize: 16, kvHeadCount: c.kvHeadCount,
                                                                                                 headDim: c.headDim, dtype: .f16))
        func engine(maxBatchedTokens: Int) throws -> Engine {
            try Engine(model: model, configuration: EngineConfiguration(
                kvCacheBytes: 256 * bytesPerBlock, kvCacheDType: .auto, prefixCaching: true,
                scheduler: SchedulerConfiguration(maxBatchedTokens: maxBatchedTokens, maxSequences: 8)))
        }
        func run(_ engine: Engine, _ requests: [(UInt64, [String: Any])]) throws -> [UInt64: [Int32]] {
            for (id, goldenCase) in requests {
                try engine.add(GenerationRequest(id: id, promptTokens: goldenCase.tokenIDs("prompt_token_ids"), maxTokens: 16))
            }
            var outputs: [UInt64: [Int32]] = [:]
            for _ in 0..<1000 where engine.hasWork {
                for output in engine.step() { outputs[output.id, default: []] += output.tokens }
            }
            XCTAssertFalse(engine.hasWork)
            return outputs
        }
        let single = try run(try engine(maxBatchedTokens: 1024), [(1, long)])[1]
        XCTAssertEqual(single?.count, 16)
        let batchedEngine = try engine(maxBatchedTokens: 64)
        let batched = try run(batchedEngine, [(1, long)] + others.enumerated().map { (UInt64($0.offset + 2), $0.element) })
        XCTAssertEqual(batched[1], single, "batched with other prompts, in 64-token chunks")
        XCTAssertEqual(try run(batchedEngine, [(9, long)])[9], single, "from the prefix cache")
        XCTAssertGreaterThanOrEqual(batchedEngine.statistics.prefixCacheHitTokens, 768, "the second run reused the cached prompt blocks")
    }

    /// `--dtype auto` (the file's own Q4_K/Q6_K/Q5_0/Q8_0 blocks through the integer kernels) on the shared
    /// passage, as transformers tokenized it: within 1% of transformers' perplexity on the exact dequantisation.
    func testPerplexityAtDefaultDtypeWithinOnePercent() throws {
        let model = try DecoderModel(checkpoint: Self.checkpoint.get(), precision: .auto)
        let reference = try SharedData.golden(Self.model, "perplexity.json")
        let tokens = reference.tokenIDs("token_ids")
        let evaluator = try PerplexityEvaluator(model: model, context: tokens.count,
                                                configuration: EngineConfiguration(kvCacheBytes: 0))
        let result = try evaluator.evaluate(tokens)
        let expected = (reference["perplexity"] as! NSNumber).doubleValue
        XCTAssertEqual(result.perplexity, expected, accuracy: expected / 100, "perplexity \(result.perplexity) vs transformers \(expected)")
    }
}
