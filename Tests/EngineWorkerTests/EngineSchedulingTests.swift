import XCTest
import WireProtocol
import Kernels
import ModelFormats
import TestSupport
@testable import EngineWorker

/// Continuous batching must not change results: greedy outputs of many sequences batched together — with chunked
/// prefill, prefix-cache hits and preemption under a tiny KV pool — equal HuggingFace's golden continuations
/// (which equal each prompt run alone), and every KV block is returned at the end.
final class EngineSchedulingTests: XCTestCase {
    private static let model = Result { try DecoderModel(checkpoint: ModelCheckpoint(path: SharedData.smolLMGGUF)) }

    /// Bytes of one 16-token KV block of the model.
    private static var bytesPerBlock: Int {
        get throws {
            let c = try model.get().config
            return KVCache.bytesPerBlock(layerCount: c.layerCount, layout: PagedKVLayout(blockSize: 16, kvHeadCount: c.kvHeadCount, headDim: c.headDim))
        }
    }

    private func makeEngine(blocks: Int, maxBatchedTokens: Int = 512, maxSequences: Int = 64, prefixCaching: Bool = true) throws -> Engine {
        try Engine(model: Self.model.get(), configuration: EngineConfiguration(
            kvCacheBytes: blocks * Self.bytesPerBlock, prefixCaching: prefixCaching,
            scheduler: SchedulerConfiguration(maxBatchedTokens: maxBatchedTokens, maxSequences: maxSequences)))
    }

    private func request(_ id: UInt64, _ goldenCase: [String: Any], maxTokens: Int = 48) -> GenerationRequest {
        GenerationRequest(id: id, promptTokens: goldenCase.tokenIDs("prompt_token_ids"), maxTokens: maxTokens)
    }

    /// Steps until idle (bounded), collecting each request's tokens.
    private func runToCompletion(_ engine: Engine, maxSteps: Int = 5000) -> [UInt64: [Int32]] {
        var outputs: [UInt64: [Int32]] = [:]
        for _ in 0..<maxSteps where engine.hasWork {
            for output in engine.step() { outputs[output.id, default: []] += output.tokens }
        }
        XCTAssertFalse(engine.hasWork, "engine still busy after \(maxSteps) steps")
        return outputs
    }

    private func assertAllBlocksReturned(_ engine: Engine, file: StaticString = #filePath, line: UInt = #line) {
        let stats = engine.statistics
        XCTAssertEqual(stats.blocksUsed, 0, "KV blocks leaked", file: file, line: line)
        XCTAssertEqual(stats.running + stats.waiting, 0, file: file, line: line)
    }

    func testBatchedChunkedPrefillMatchesGolden() throws {
        let cases = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        let engine = try makeEngine(blocks: 256, maxBatchedTokens: 64)
        for (i, c) in cases.enumerated() { try engine.add(request(UInt64(i + 1), c)) }
        let outputs = runToCompletion(engine)
        for (i, c) in cases.enumerated() {
            XCTAssertEqual(outputs[UInt64(i + 1)], c.tokenIDs("continuation_token_ids"), "case \(c["id"]!)")
        }
        assertAllBlocksReturned(engine)
        // The 258-token prompt cannot go through in one 64-token step: it was chunked.
        XCTAssertGreaterThan(engine.statistics.steps, 48 + 258 / 64)
    }

    func testTinyKVPoolPreemptsAndStillMatchesGolden() throws {
        let cases = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        // 22 blocks hold the longest sequence (258 + 48 tokens = 20 blocks) but nowhere near all nine at once.
        let engine = try makeEngine(blocks: 22, maxBatchedTokens: 128)
        for (i, c) in cases.enumerated() { try engine.add(request(UInt64(i + 1), c)) }
        let outputs = runToCompletion(engine)
        for (i, c) in cases.enumerated() {
            XCTAssertEqual(outputs[UInt64(i + 1)], c.tokenIDs("continuation_token_ids"), "case \(c["id"]!)")
        }
        XCTAssertGreaterThan(engine.statistics.preemptions, 0, "the pool was meant to be too small")
        assertAllBlocksReturned(engine)
        // A prompt counts once, at its first admission: neither re-admission after preemption (recompute) nor an
        // admission attempt that found no free blocks counts it again.
        let promptTokens = cases.reduce(0) { $0 + $1.tokenIDs("prompt_token_ids").count }
        XCTAssertEqual(engine.statistics.promptTokensAdmitted, promptTokens)
        XCTAssertLessThanOrEqual(engine.statistics.prefixCacheHitTokens, promptTokens)
    }

    func testPrefixCacheHitGivesIdenticalTokensWithLessPrefill() throws {
        let long = try XCTUnwrap(try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json").first { $0["id"] as? String == "long_story" })
        let engine = try makeEngine(blocks: 64)
        try engine.add(request(1, long, maxTokens: 8))
        let first = runToCompletion(engine)[1]
        let computedBefore = engine.statistics.tokensComputed
        try engine.add(request(2, long, maxTokens: 8))
        let second = runToCompletion(engine)[2]
        XCTAssertEqual(first, second)
        XCTAssertEqual(first, Array(long.tokenIDs("continuation_token_ids").prefix(8)))
        let prompt = long.tokenIDs("prompt_token_ids").count
        XCTAssertEqual(engine.statistics.prefixCacheHitTokens, (prompt - 1) / 16 * 16)
        XCTAssertLessThan(engine.statistics.tokensComputed - computedBefore, computedBefore / 4)
        assertAllBlocksReturned(engine)
        XCTAssertGreaterThan(engine.statistics.blocksCached, 0)

        // With prefix caching off, the second run computes everything again.
        let uncached = try makeEngine(blocks: 64, prefixCaching: false)
        try uncached.add(request(1, long, maxTokens: 8))
        _ = runToCompletion(uncached)
        try uncached.add(request(2, long, maxTokens: 8))
        XCTAssertEqual(runToCompletion(uncached)[2], first)
        XCTAssertEqual(uncached.statistics.prefixCacheHitTokens, 0)
        XCTAssertEqual(uncached.statistics.blocksCached, 0)
    }

    func testCancelFreesBlocksAtOnce() throws {
        let cases = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        let engine = try makeEngine(blocks: 128)
        try engine.add(request(1, cases[0]))
        try engine.add(request(2, cases[7]))   // long_story
        for _ in 0..<3 { _ = engine.step() }
        let before = engine.statistics.blocksUsed
        XCTAssertTrue(engine.cancel(2))
        XCTAssertFalse(engine.cancel(2))
        XCTAssertLessThanOrEqual(engine.statistics.blocksUsed, before - 258 / 16)
        let outputs = runToCompletion(engine)
        XCTAssertEqual(outputs[1]?.count, 48 - 3)
        XCTAssertNil(outputs[2])
        assertAllBlocksReturned(engine)
    }

    func testRequestsThatCanNeverFitAreRejected() throws {
        let engine = try makeEngine(blocks: 8)
        XCTAssertThrowsError(try engine.add(GenerationRequest(id: 1, promptTokens: Array(repeating: 1, count: 8000), maxTokens: 500))) {
            XCTAssertEqual($0 as? EngineError, .rejected(.contextExceeded(promptTokens: 8000, maxTokens: 500, contextLength: 8192)))
        }
        XCTAssertThrowsError(try engine.add(GenerationRequest(id: 2, promptTokens: Array(repeating: 1, count: 120), maxTokens: 20))) {
            XCTAssertEqual($0 as? EngineError, .rejected(.insufficientKVCache(neededBlocks: 9, totalBlocks: 8)))
        }
        XCTAssertThrowsError(try engine.add(GenerationRequest(id: 3, promptTokens: [], maxTokens: 1)))
        // max_tokens 0 would still sample one token: refused, as a bad request.
        XCTAssertThrowsError(try engine.add(GenerationRequest(id: 5, promptTokens: [1, 2], maxTokens: 0))) {
            XCTAssertEqual($0 as? EngineError, .rejected(.invalidMaxTokens(0)))
            XCTAssertEqual(($0 as? EngineError)?.reply(to: 5).code, .invalidRequest)
            XCTAssertEqual(($0 as? EngineError)?.description, "max_tokens must be at least 1, got 0")
        }
        // Sampling settings outside the API's ranges, NaN included, are refused by the same validator.
        for (sampling, param) in [(SamplingParameters(temperature: .nan), "temperature"), (SamplingParameters(topP: 0), "top_p"),
                                  (SamplingParameters(presencePenalty: .infinity), "presence_penalty"),
                                  (SamplingParameters(frequencyPenalty: -3), "frequency_penalty"),
                                  (SamplingParameters(topLogprobs: 21), "top_logprobs")] {
            XCTAssertThrowsError(try engine.add(GenerationRequest(id: 6, promptTokens: [1, 2], maxTokens: 1, sampling: sampling))) {
                guard case .rejected(let rejection)? = $0 as? EngineError else { return XCTFail("\($0)") }
                XCTAssertEqual(rejection.param, param)
                XCTAssertEqual(rejection.code, .invalidRequest)
            }
        }
        try engine.add(GenerationRequest(id: 4, promptTokens: [1, 2], maxTokens: 1))
        XCTAssertThrowsError(try engine.add(GenerationRequest(id: 4, promptTokens: [1, 2], maxTokens: 1))) {
            XCTAssertEqual($0 as? EngineError, .duplicateRequestID(4))
        }
        _ = runToCompletion(engine)
        assertAllBlocksReturned(engine)
    }

    func testKVBudgetBelowOneBlockIsRefused() throws {
        let perBlock = try Self.bytesPerBlock
        XCTAssertThrowsError(try Engine(model: Self.model.get(), configuration: EngineConfiguration(kvCacheBytes: perBlock - 1))) {
            let error = $0 as? EngineConfigurationError
            XCTAssertEqual(error, .kvCacheTooSmall(budgetBytes: perBlock - 1, bytesPerBlock: perBlock, blockSize: 16))
            XCTAssertTrue(error?.description.contains("needs \(perBlock) bytes") == true, error?.description ?? "")
        }
        XCTAssertEqual(try makeEngine(blocks: 1).cache.blockCount, 1)
    }

    func testMaxSequencesBoundsTheBatch() throws {
        let cases = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        let engine = try makeEngine(blocks: 256, maxSequences: 2)
        for (i, c) in cases.prefix(4).enumerated() { try engine.add(request(UInt64(i + 1), c, maxTokens: 4)) }
        var outputs: [UInt64: [Int32]] = [:]
        for output in engine.step() { outputs[output.id, default: []] += output.tokens }
        XCTAssertEqual(engine.statistics.running, 2)
        XCTAssertEqual(engine.statistics.waiting, 2)
        outputs.merge(runToCompletion(engine)) { $0 + $1 }
        for (i, c) in cases.prefix(4).enumerated() {
            XCTAssertEqual(outputs[UInt64(i + 1)], Array(c.tokenIDs("continuation_token_ids").prefix(4)))
        }
        assertAllBlocksReturned(engine)
    }
}
