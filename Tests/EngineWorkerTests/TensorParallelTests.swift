import Foundation
import XCTest
import ModelFormats
import ProcessGroup
import TestSupport
@testable import EngineWorker

/// Tensor parallelism in one process (each rank on its own thread, joined through a real shared-memory
/// ProcessGroup): sharding rules, the step-plan encoding, and TP=2 greedy generation equal to TP=1 and to the
/// HuggingFace golden tokens on every stories260K prompt. (The two-process worker and rank failures are covered
/// by EndToEndTests/TensorParallelWorkerTests.)
final class TensorParallelTests: XCTestCase {
    func testSizesThatDoNotDivideAreRefusedNamingTheSizes() throws {
        let smol = try ModelCheckpoint(path: SharedData.smolLMGGUF).config
        XCTAssertThrowsError(try TensorParallelShard(rank: 0, size: 2, config: smol)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tensor parallel size 2") && text.contains("\(smol.kvHeadCount) KV heads"), text)
        }
        let stories = try ModelCheckpoint(path: SharedData.storiesDirectory).config
        let shard = try TensorParallelShard(rank: 1, size: 2, config: stories)
        XCTAssertEqual(shard.kvHeadCount * 2, stories.kvHeadCount)
        XCTAssertEqual(shard.headCount * 2, stories.headCount)
        XCTAssertEqual(shard.intermediateRows, (stories.intermediateSize / 2)..<stories.intermediateSize)
        XCTAssertThrowsError(try TensorParallelShard(rank: 2, size: 2, config: stories))

        // Opt-in uneven split by KV group: SmolLM2's 3 KV groups (3 query heads each) go 2 + 1.
        let first = try TensorParallelShard(rank: 0, size: 2, config: smol, allowUneven: true)
        let second = try TensorParallelShard(rank: 1, size: 2, config: smol, allowUneven: true)
        XCTAssertEqual([first.kvHeadCount, second.kvHeadCount], [2, 1])
        XCTAssertEqual([first.headCount, second.headCount], [6, 3])
        XCTAssertEqual(first.queryRows.upperBound, second.queryRows.lowerBound)
        XCTAssertEqual(second.queryRows.upperBound, smol.queryDim)
        XCTAssertEqual(second.kvRows, (2 * smol.headDim)..<smol.kvDim)
        XCTAssertEqual([first.intermediateSize, second.intermediateSize], [768, 768])
        XCTAssertEqual(second.largestKVHeadCount, 2)
        XCTAssertThrowsError(try TensorParallelShard(rank: 0, size: 4, config: smol, allowUneven: true))
    }

    func testStepPlanRoundTrips() throws {
        var batch = ForwardBatch()
        batch.append(tokens: [1, 2, 3], firstPosition: 0, blockTable: [4, 5])
        batch.append(tokens: [9], firstPosition: 17, blockTable: [7, 8, 1], wantsLogits: false)
        batch.append(tokens: [10, 11], firstPosition: 3, blockTable: [2], allLogits: true)
        guard case .forward(let decoded) = try StepPlanCodec.decode(StepPlanCodec.encode(.forward(batch))) else {
            return XCTFail("not a forward plan")
        }
        XCTAssertEqual(decoded.tokens, batch.tokens)
        XCTAssertEqual(decoded.logitRows, batch.logitRows)
        XCTAssertEqual(decoded.chunks.map(\.blockTable), batch.chunks.map(\.blockTable))
        XCTAssertEqual(decoded.chunks.map(\.firstPosition), [0, 17, 3])
        XCTAssertEqual(decoded.chunks.map(\.tokenOffset), [0, 3, 4])
        guard case .stop = try StepPlanCodec.decode(StepPlanCodec.encode(.stop)) else { return XCTFail("not stop") }
        XCTAssertThrowsError(try StepPlanCodec.decode([1, 0, 0, 0, 5, 0, 0, 0]))
    }

    /// Inside a step every rank waits at most 60 s for the others, so that a rank 0 that stops answering mid-step
    /// (stopped, deadlocked) fails its followers instead of hanging them; only the wait for the next plan is
    /// unlimited, since an idle server publishes none. (ProcessGroupTests check that the two timeouts apply so.)
    func testRanksBoundInStepWaitsButNotTheWaitForTheNextPlan() throws {
        let config = try ModelCheckpoint(path: SharedData.storiesDirectory).config
        for rank in 0..<2 {
            let group = TensorParallelGroup.configuration(group: "g", rank: rank, size: 2, config: config,
                                                          engine: EngineConfiguration(kvCacheBytes: 1 << 20))
            XCTAssertEqual(group.operationTimeout, .seconds(60), "rank \(rank)")
            XCTAssertGreaterThanOrEqual(group.planTimeout, .seconds(86_400 * 365), "rank \(rank)")
        }
    }

    func testTwoRanksGenerateTheSameTokensAsOneOnEveryGoldenPrompt() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.storiesDirectory)
        let configuration = EngineConfiguration(kvCacheBytes: 2 << 20, scheduler: SchedulerConfiguration(maxBatchedTokens: 64))
        let cases = try SharedData.goldenCases("stories260K", "generation.json")
        let prompts = cases.map { $0.tokenIDs("prompt_token_ids") }
        let single = try Self.generateAll(Engine(model: DecoderModel(checkpoint: checkpoint), configuration: configuration), prompts)
        let parallel = try runTwoRanks(checkpoint, configuration, prompts, allowUneven: false)
        for (i, goldenCase) in cases.enumerated() {
            let id = goldenCase["id"] as! String
            XCTAssertEqual(parallel[i].count, 48)
            // Only the documented near-tie may flip; the tokens before it must agree.
            let versusSingle = GoldenTokens.mustAgree(model: "stories260K", caseID: id, parallel[i], single[i])
            XCTAssertEqual(versusSingle.generated, versusSingle.reference, "\(id): TP=2 differs from TP=1")
            let versusGolden = GoldenTokens.mustAgree(model: "stories260K", caseID: id, parallel[i], goldenCase.tokenIDs("continuation_token_ids"))
            XCTAssertEqual(versusGolden.generated, versusGolden.reference, "\(id): TP=2 differs from golden")
        }
    }

    /// With an f16 cache every rank stores its own KV heads as halves: TP=2 gives TP=1's tokens with that cache.
    func testTwoRanksWithF16CacheGenerateTheSameTokensAsOne() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.storiesDirectory)
        let configuration = EngineConfiguration(kvCacheBytes: 1 << 20, kvCacheDType: .fixed(.f16),
                                                scheduler: SchedulerConfiguration(maxBatchedTokens: 64))
        let cases = try SharedData.goldenCases("stories260K", "generation.json")
        let prompts = cases.map { $0.tokenIDs("prompt_token_ids") }
        let engine = try Engine(model: DecoderModel(checkpoint: checkpoint), configuration: configuration)
        XCTAssertEqual(engine.cache.layout.dtype, .f16)
        let single = try Self.generateAll(engine, prompts)
        let parallel = try runTwoRanks(checkpoint, configuration, prompts, allowUneven: false)
        for (i, goldenCase) in cases.enumerated() {
            let id = goldenCase["id"] as! String
            let versusSingle = GoldenTokens.mustAgree(model: "stories260K", caseID: id, parallel[i], single[i])
            XCTAssertEqual(versusSingle.generated, versusSingle.reference, "\(id): TP=2 differs from TP=1 with an f16 cache")
        }
    }

    /// The default model split unevenly (2 + 1 KV groups) still produces HuggingFace's tokens, on every golden prompt.
    func testUnevenSplitOfTheDefaultModelMatchesGolden() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.smolLMGGUF)
        let configuration = EngineConfiguration(kvCacheBytes: 16 << 20, scheduler: SchedulerConfiguration(maxBatchedTokens: 64))
        let cases = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        XCTAssertEqual(cases.count, 9)
        let parallel = try runTwoRanks(checkpoint, configuration, cases.map { $0.tokenIDs("prompt_token_ids") }, allowUneven: true)
        for (i, goldenCase) in cases.enumerated() {
            XCTAssertEqual(parallel[i], goldenCase.tokenIDs("continuation_token_ids"), "\(goldenCase["id"]!)")
        }
    }

    /// Greedy 48-token continuations of `prompts`, one request at a time.
    private static func generateAll(_ engine: Engine, _ prompts: [[Int32]]) throws -> [[Int32]] {
        try prompts.enumerated().map { i, prompt in
            var tokens: [Int32] = []
            try engine.generate(GenerationRequest(id: UInt64(i + 1), promptTokens: prompt, maxTokens: 48)) { tokens.append($0); return true }
            return tokens
        }
    }

    /// Runs `prompts` on a TP=2 group whose ranks are threads of this process joined through a real
    /// shared-memory ProcessGroup; checks that rank 1 ran every step and that no segment is left behind.
    private func runTwoRanks(_ checkpoint: ModelCheckpoint, _ configuration: EngineConfiguration, _ prompts: [[Int32]],
                             allowUneven: Bool) throws -> [[Int32]] {
        let name = "tptest\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let results = LockedBox<(tokens: [[Int32]]?, followerSteps: Int?, leaderSteps: Int?, errors: [String])>((nil, nil, nil, []))
        let done = DispatchSemaphore(value: 0)
        for rank in 0..<2 {
            let thread = Thread {
                do {
                    let shard = try TensorParallelShard(rank: rank, size: 2, config: checkpoint.config, allowUneven: allowUneven)
                    let model = try DecoderModel(checkpoint: checkpoint, shard: shard)
                    let group = try TensorParallelGroup(TensorParallelGroup.configuration(
                        group: name, rank: rank, size: 2, config: checkpoint.config, engine: configuration, connectTimeout: .seconds(60)))
                    defer { group.close() }
                    if rank == 0 {
                        let engine = try Engine(model: model, configuration: configuration, group: group)
                        let tokens = try Self.generateAll(engine, prompts)
                        group.publishStop()
                        results.update { $0.tokens = tokens; $0.leaderSteps = engine.statistics.steps }
                    } else {
                        let steps = try TensorParallelFollower(model: model, configuration: configuration, modelID: "test").run(in: group)
                        results.update { $0.followerSteps = steps }
                    }
                } catch {
                    results.update { $0.errors.append("rank \(rank): \(error)") }
                }
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<2 { XCTAssertEqual(done.wait(timeout: .now() + 300), .success, "a rank did not finish") }
        let outcome = results.value
        XCTAssertEqual(outcome.errors, [])
        XCTAssertEqual(outcome.followerSteps, outcome.leaderSteps, "rank 1 ran every step of rank 0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/shm/scalellm-\(name)-shm"), "segment left behind")
        return try XCTUnwrap(outcome.tokens)
    }
}

/// A value shared between test threads.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
