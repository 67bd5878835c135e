import XCTest
import Foundation
import Kernels
import ModelFormats
import TestSupport
@testable import EngineWorker

/// The KV cache's element type end to end: what `auto` picks, how many blocks a budget buys, and greedy generation
/// of the default model (SmolLM2-135M GGUF, fp8 weights) with a 16- or 8-bit cache against the f32 cache.
final class KVCacheDTypeTests: XCTestCase {
    func testAutoFollowsWeightPrecision() {
        XCTAssertEqual(KVCacheDType.resolve(for: .fp32), .f32, "the exact path stays exact")
        XCTAssertEqual(KVCacheDType.resolve(for: .fp8), .f16)
        XCTAssertEqual(KVCacheDTypeChoice.auto.resolved(for: .fp32), .f32)
        XCTAssertEqual(KVCacheDTypeChoice.auto.resolved(for: .fp8), .f16)
        XCTAssertEqual(KVCacheDTypeChoice.fixed(.bf16).resolved(for: .fp32), .bf16)
        XCTAssertEqual(KVCacheDTypeChoice.allCases.map(\.rawValue), ["auto", "f32", "f16", "bf16", "fp8"])
        XCTAssertEqual(KVCacheDTypeChoice(rawValue: "fp8"), .fixed(.fp8))
        XCTAssertNil(KVCacheDTypeChoice(rawValue: "f64"))
    }

    func testBudgetHoldsTwiceTheTokensAt16Bits() throws {
        let c = try ModelCheckpoint(path: SharedData.smolLMGGUF).config
        let tokenElements = c.kvHeadCount * c.headDim
        let f32Block = 2 * c.layerCount * 16 * tokenElements * 4
        let budget = 100 * f32Block
        func blocks(_ dtype: KVCacheDType) throws -> Int {
            try Engine.kvBlockCount(config: c, shard: .whole(c),
                                    configuration: EngineConfiguration(kvCacheBytes: budget, kvCacheDType: .fixed(dtype)), precision: .fp8)
        }
        XCTAssertEqual(try blocks(.f32), 100)
        XCTAssertEqual(try blocks(.f16), 200)
        XCTAssertEqual(try blocks(.bf16), 200)
        // One byte per element plus a float scale per token and KV head.
        XCTAssertEqual(try blocks(.fp8), budget / (2 * c.layerCount * 16 * (tokenElements + 4 * c.kvHeadCount)))
        let auto = try Engine.kvBlockCount(config: c, shard: .whole(c), configuration: EngineConfiguration(kvCacheBytes: budget),
                                           precision: .fp32)
        XCTAssertEqual(auto, 100, "auto is f32 beside fp32 weights")
    }

    /// Free-running greedy generation of every golden prompt (48 tokens, EOS ignored) through the engine with fp8
    /// weights: an f16 cache must give the f32 cache's first 16 tokens on every prompt; the common prefixes of
    /// all types are printed (f16/bf16/fp8 vs f32).
    func testGreedyTokensMatchF32CacheWithFP8Weights() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.smolLMGGUF)
        let model = try DecoderModel(checkpoint: checkpoint, precision: .fp8)
        var report: [KVCacheDType: (prefix: Int, agree: Int, total: Int)] = [:]
        for goldenCase in try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json") {
            let id = goldenCase["id"] as! String
            let prompt = goldenCase.tokenIDs("prompt_token_ids")
            let count = goldenCase.tokenIDs("continuation_token_ids").count
            func generate(_ dtype: KVCacheDType) throws -> [Int32] {
                let engine = try Engine(model: model, configuration: EngineConfiguration(
                    kvCacheBytes: Engine.kvBytes(forTokens: prompt.count + count, config: model.config, dtype: dtype),
                    kvCacheDType: .fixed(dtype)))
                XCTAssertEqual(engine.cache.layout.dtype, dtype)
                var tokens: [Int32] = []
                try engine.generate(GenerationRequest(id: 1, promptTokens: prompt, maxTokens: count)) { tokens.append($0); return true }
                return tokens
            }
            let reference = try generate(.f32)
            for dtype in [KVCacheDType.f16, .bf16, .fp8] {
                let tokens = try generate(dtype)
                let prefix = zip(tokens, reference).prefix { $0 == $1 }.count
                let agree = zip(tokens, reference).filter { $0 == $1 }.count
                let sum = report[dtype] ?? (0, 0, 0)
                report[dtype] = (sum.prefix + prefix, sum.agree + agree, sum.total + reference.count)
                print("\(id): \(dtype) cache keeps the f32 cache's first \(prefix) of \(reference.count) greedy tokens")
                if dtype == .f16 { XCTAssertGreaterThanOrEqual(prefix, 16, "\(id): f16 cache diverges from f32 at token \(prefix)") }
            }
        }
        for dtype in [KVCacheDType.f16, .bf16, .fp8] {
            let r = report[dtype]!
            print(String(format: "%@ KV cache vs f32 (fp8 weights, free-running greedy): common prefix %d/%d tokens, same token at %d/%d positions",
                         dtype.rawValue, r.prefix, r.total, r.agree, r.total))
        }
    }
}
