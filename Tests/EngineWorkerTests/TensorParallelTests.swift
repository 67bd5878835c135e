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

    func testTwoRanksGenerateTheSameTokensAsOneOnEveryGoldenPrompt() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.storiesDirectory)
        let configuration = EngineConfiguration(kvCacheBytes: 2 << 20, scheduler: SchedulerConfiguration(maxBatchedTokens: 64))
        let cases = try SharedData.goldenCases("stories260K", "generation.json")
        let prompts = cases.map { $0.tokenIDs("prompt_token_ids") }
        @Sendable func generateAll(_ engine: Engine) throws -> [[Int32]] {
            try prompts.enumerated().map { i, prompt in
                var tokens: [Int32] = []
                try engine.generate(GenerationRequest(id: UInt64(i + 1), promptTokens: prompt, maxTokens: 48)) { tokens.append($0); return true }
                return tokens
            }
        }
        let single = try generateAll(Engine(model: LlamaModel(checkpoint: checkpoint), configuration: configuration))

        let name = "tptest\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let results = LockedBox<(tokens: [[Int32]]?, followerSteps: Int?, leaderSteps: Int?, errors: [String])>((nil, nil, nil, []))
        let done = DispatchSemaphore(value: 0)
        for rank in 0..<2 {
            let thread = Thread {
                do {
                    let shard = try TensorParallelShard(rank: rank, size: 2, config: checkpoint.config)
                    let model = try LlamaModel(checkpoint: checkpoint, shard: shard)
                    let group = try TensorParallelGroup(TensorParallelGroup.configuration(
                        group: name, rank: rank, size: 2, config: checkpoint.config, engine: configuration, connectTimeout: .seconds(60)))
                    defer { group.close() }
                    if rank == 0 {
                        let engine = Engine(model: model, configuration: configuration, group: group)
                        let tokens = try generateAll(engine)
                        group.publishStop()
                        results.update { $0.tokens = tokens; $0.leaderSteps = engine.statistics.steps }
                    } else {
                        let steps = try TensorParallelFollower(model: model, configuration: configuration, group: group).run()
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
        let parallel = try XCTUnwrap(outcome.tokens)
        XCTAssertEqual(outcome.followerSteps, outcome.leaderSteps, "rank 1 ran every step of rank 0")
        for (i, goldenCase) in cases.enumerated() {
            let id = goldenCase["id"] as! String
            // The documented near-tie of stories260K's `sentence` case at step 6 may flip; nothing else may.
            let nearTie = id == "sentence"
            let versusSingle = zip(parallel[i], single[i]).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            XCTAssertEqual(parallel[i].count, 48)
            if !(nearTie && versusSingle.first == 6) { XCTAssertEqual(versusSingle, [], "\(id): TP=2 differs from TP=1") }
            let expected = goldenCase.tokenIDs("continuation_token_ids")
            let versusGolden = zip(parallel[i], expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            if !(nearTie && versusGolden.first == 6) { XCTAssertEqual(versusGolden, [], "\(id): TP=2 differs from golden") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/shm/scalellm-\(name)-shm"), "segment left behind")
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
