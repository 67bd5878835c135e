import XCTest
@testable import ServingBenchmark

/// Percentiles, TTFT/TBT/ITL, throughput, goodput and the timeout rule on hand-made timestamps.
final class StatisticsTests: XCTestCase {
    func testPercentilesOfOneSampleAreThatSample() throws {
        let s = try XCTUnwrap(LatencySummary([0.25]))
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s.mean, 0.25)
        XCTAssertEqual(s.p50, 0.25)
        XCTAssertEqual(s.p90, 0.25)
        XCTAssertEqual(s.p99, 0.25)
    }

    func testPercentilesOfTwoSamplesInterpolate() throws {
        let s = try XCTUnwrap(LatencySummary([3, 1]))
        XCTAssertEqual(s.mean, 2)
        XCTAssertEqual(s.p50, 2, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 2.8, accuracy: 1e-12)
        XCTAssertEqual(s.p99, 2.98, accuracy: 1e-12)
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.max, 3)
    }

    func testPercentilesMatchNumPyLinear() throws {
        // numpy.percentile(range(1, 11), [50, 90, 99]) = 5.5, 9.1, 9.91
        let s = try XCTUnwrap(LatencySummary((1...10).reversed().map(Double.init)))
        XCTAssertEqual(s.p50, 5.5, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 9.1, accuracy: 1e-12)
        XCTAssertEqual(s.p99, 9.91, accuracy: 1e-12)
        XCTAssertEqual(LatencySummary.percentile(0, ofSorted: [1, 2, 3]), 1)
        XCTAssertEqual(LatencySummary.percentile(100, ofSorted: [1, 2, 3]), 3)
    }

    func testEmptySampleHasNoSummary() {
        XCTAssertNil(LatencySummary([]))
    }

    func testRequestDerivedTimes() throws {
        // Sent at 1.0; chunks at 1.2, 1.3, 1.6 carrying 7 tokens in all (the server coalesced some); ended at 1.65.
        let r = RequestTiming(index: 0, sendTime: 1.0, tokenChunkTimes: [1.2, 1.3, 1.6], endTime: 1.65, promptTokens: 5, completionTokens: 7)
        XCTAssertEqual(try XCTUnwrap(r.timeToFirstToken), 0.2, accuracy: 1e-12)
        XCTAssertEqual(r.endToEndLatency, 0.65, accuracy: 1e-12)
        // TBT = (last − first) ÷ (tokens − 1) = 0.4 / 6, from usage, not from the three chunks.
        XCTAssertEqual(try XCTUnwrap(r.timeBetweenTokens), 0.4 / 6, accuracy: 1e-12)
        XCTAssertEqual(r.interChunkGaps.count, 2)
        XCTAssertEqual(r.interChunkGaps[0], 0.1, accuracy: 1e-12)
        XCTAssertEqual(r.interChunkGaps[1], 0.3, accuracy: 1e-12)
    }

    func testTimeBetweenTokensNeedsUsageAndTwoTokens() {
        XCTAssertNil(RequestTiming(index: 0, sendTime: 0, tokenChunkTimes: [0.1, 0.2], endTime: 0.2).timeBetweenTokens)
        XCTAssertNil(RequestTiming(index: 0, sendTime: 0, tokenChunkTimes: [0.1], endTime: 0.2, completionTokens: 1).timeBetweenTokens)
        XCTAssertEqual(RequestTiming(index: 0, sendTime: 0, tokenChunkTimes: [0.1], endTime: 0.2, completionTokens: 3).timeBetweenTokens, 0)
    }

    /// Evenly spaced tokens: request i sent at i, first token after `ttft`, then one chunk of one token every `gap`.
    private func request(_ i: Int, ttft: Double, gap: Double, tokens: Int, error: String? = nil) -> RequestTiming {
        let send = Double(i)
        let chunks = (0..<tokens).map { send + ttft + Double($0) * gap }
        return RequestTiming(index: i, sendTime: send, tokenChunkTimes: error == nil ? chunks : [], endTime: (chunks.last ?? send) + 0.001,
                             promptTokens: error == nil ? 10 : nil, completionTokens: error == nil ? tokens : nil, error: error)
    }

    func testLevelFiguresAndThroughput() throws {
        let requests = [
            request(0, ttft: 0.1, gap: 0.01, tokens: 5),
            request(1, ttft: 0.3, gap: 0.03, tokens: 5),
            request(2, ttft: 0, gap: 0, tokens: 0, error: "HTTP 500: boom"),
        ]
        let level = LevelResult(concurrency: 2, durationSeconds: 2, requests: requests, criteria: BenchmarkCriteria())
        XCTAssertEqual(level.requestCount, 3)
        XCTAssertEqual(level.successCount, 2)
        XCTAssertEqual(level.errorCount, 1)
        XCTAssertEqual(level.sampleErrors, ["HTTP 500: boom"])
        XCTAssertEqual(level.outputTokens, 10)
        XCTAssertEqual(level.promptTokens, 20)
        XCTAssertEqual(level.outputTokensPerSecond, 5, accuracy: 1e-12)
        XCTAssertEqual(level.requestsPerSecond, 1, accuracy: 1e-12)
        let ttft = try XCTUnwrap(level.timeToFirstToken)
        XCTAssertEqual(ttft.count, 2)
        XCTAssertEqual(ttft.mean, 0.2, accuracy: 1e-9)
        let tbt = try XCTUnwrap(level.timeBetweenTokens)
        XCTAssertEqual(tbt.mean, 0.02, accuracy: 1e-9)
        XCTAssertEqual(tbt.p50, 0.02, accuracy: 1e-9)
        // ITL pools every chunk gap of successful requests: four of 0.01 and four of 0.03.
        let itl = try XCTUnwrap(level.interTokenLatency)
        XCTAssertEqual(itl.count, 8)
        XCTAssertEqual(itl.mean, 0.02, accuracy: 1e-9)
        XCTAssertEqual(itl.p50, 0.02, accuracy: 1e-9)
        XCTAssertEqual(itl.p90, 0.03, accuracy: 1e-9)
        XCTAssertNil(level.goodRequestCount)
        XCTAssertFalse(level.timedOut)
    }

    func testMissingUsageIsCountedNotGuessed() {
        let r = RequestTiming(index: 0, sendTime: 0, tokenChunkTimes: [0.1, 0.2, 0.3], endTime: 0.3)
        let level = LevelResult(concurrency: 1, durationSeconds: 1, requests: [r], criteria: BenchmarkCriteria())
        XCTAssertEqual(level.missingUsageCount, 1)
        XCTAssertEqual(level.outputTokens, 0)
        XCTAssertNil(level.timeBetweenTokens)
    }

    func testGoodputWithObjectives() throws {
        let requests = [
            request(0, ttft: 0.1, gap: 0.01, tokens: 4),   // meets both
            request(1, ttft: 0.6, gap: 0.01, tokens: 4),   // TTFT too slow
            request(2, ttft: 0.1, gap: 0.08, tokens: 4),   // TBT too slow
            request(3, ttft: 0.5, gap: 0.05, tokens: 4),   // exactly at both objectives: meets them
            request(4, ttft: 0.1, gap: 0, tokens: 1),      // one token: no TBT, meets the TBT objective
            request(5, ttft: 0, gap: 0, tokens: 0, error: "timed out"),
        ]
        let criteria = BenchmarkCriteria(sloTimeToFirstToken: 0.5, sloTimeBetweenTokens: 0.05)
        let level = LevelResult(concurrency: 4, durationSeconds: 4, requests: requests, criteria: criteria)
        XCTAssertEqual(level.goodRequestCount, 3)
        XCTAssertEqual(try XCTUnwrap(level.goodputRequestsPerSecond), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(level.goodputFraction), 0.5, accuracy: 1e-12)

        let ttftOnly = LevelResult(concurrency: 4, durationSeconds: 4, requests: requests, criteria: BenchmarkCriteria(sloTimeToFirstToken: 0.5))
        XCTAssertEqual(ttftOnly.goodRequestCount, 4)
    }

    /// Ten requests of which `late` take 61 s (over the paper's 60 s) and the rest 1 s.
    private func level(lateRequests late: Int, failed: Int = 0) -> LevelResult {
        let requests = (0..<10).map { i -> RequestTiming in
            if i < failed { return RequestTiming(index: i, sendTime: 0, tokenChunkTimes: [], endTime: 0.5, error: "refused") }
            let e2e = i < failed + late ? 61.0 : 1.0
            return RequestTiming(index: i, sendTime: 0, tokenChunkTimes: [0.1, e2e], endTime: e2e, completionTokens: 2)
        }
        return LevelResult(concurrency: 10, durationSeconds: 61, requests: requests, criteria: BenchmarkCriteria())
    }

    func testTimeoutRuleAtExactlyNinetyPercent() {
        XCTAssertFalse(level(lateRequests: 8).timedOut)
        XCTAssertTrue(level(lateRequests: 9).timedOut)       // exactly 90% cannot complete in 60 s
        XCTAssertTrue(level(lateRequests: 10).timedOut)
        XCTAssertTrue(level(lateRequests: 5, failed: 4).timedOut)  // failures do not complete either
        XCTAssertEqual(level(lateRequests: 9).completedInTimeCount, 1)
        // Exactly 60 s still completes in time.
        let onTheDot = RequestTiming(index: 0, sendTime: 0, tokenChunkTimes: [0.1, 60], endTime: 60, completionTokens: 2)
        XCTAssertFalse(LevelResult(concurrency: 1, durationSeconds: 60, requests: [onTheDot], criteria: BenchmarkCriteria()).timedOut)
    }

    func testSkippedLevelIsATimeoutWithoutFigures() {
        let level = LevelResult.skipped(concurrency: 64, requestRate: nil, criteria: BenchmarkCriteria())
        XCTAssertTrue(level.timedOut)
        XCTAssertTrue(level.skipped)
        XCTAssertEqual(level.requestCount, 0)
        XCTAssertNil(level.timeToFirstToken)
    }

    func testPoissonArrivalsAreSeededAndHaveTheRate() {
        var a = PoissonArrivals(rate: 4, seed: 7), b = PoissonArrivals(rate: 4, seed: 7)
        let times = (0..<4000).map { _ in a.next() }
        XCTAssertEqual(times.prefix(10).map { $0 }, (0..<10).map { _ in b.next() })
        XCTAssertTrue(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        // 4000 arrivals at 4/s take about 1000 s (the standard deviation of the sum is ~16 s).
        XCTAssertEqual(times.last!, 1000, accuracy: 80)
    }

    func testSyntheticPromptsAreDeterministicAndDistinct() {
        let source = PromptSource.synthetic(words: 16, seed: 0)
        XCTAssertEqual(source.prompt(at: 3), source.prompt(at: 3))
        XCTAssertNotEqual(source.prompt(at: 3), source.prompt(at: 4))
        XCTAssertEqual(source.prompt(at: 3).split(separator: " ").count, 16)
        XCTAssertNotEqual(source.prompt(at: 3), PromptSource.synthetic(words: 16, seed: 1).prompt(at: 3))
    }

    func testPromptsFileLinesAndJSONL() throws {
        let source = try PromptSource.parse("Hello there\n\n{\"prompt\": \"Tell me a story\"}\r\nLast line")
        XCTAssertEqual(source.prompt(at: 0), "Hello there")
        XCTAssertEqual(source.prompt(at: 1), "Tell me a story")
        XCTAssertEqual(source.prompt(at: 2), "Last line")
        XCTAssertEqual(source.prompt(at: 3), "Hello there")
        XCTAssertThrowsError(try PromptSource.parse("{\"text\": 1}"))
        XCTAssertThrowsError(try PromptSource.parse("\n \n"))
    }
}
