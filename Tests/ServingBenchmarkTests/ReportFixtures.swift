@testable import ServingBenchmark

/// A small deterministic report: levels 1, 2 and 4, the last marked Timeout, for the output-format tests.
enum ReportFixtures {
    static func level(_ concurrency: Int, ttft: Double, gap: Double, tokens: Int = 8, requests: Int = 4, e2eOverride: Double? = nil) -> LevelResult {
        let timings = (0..<requests).map { i -> RequestTiming in
            let send = Double(i) * 0.5
            let chunks = (0..<tokens).map { send + ttft + Double($0) * gap }
            return RequestTiming(index: i, sendTime: send, tokenChunkTimes: chunks, endTime: e2eOverride.map { send + $0 } ?? chunks.last! + 0.002,
                                 promptTokens: 20, completionTokens: tokens)
        }
        return LevelResult(concurrency: concurrency, durationSeconds: 2, requests: timings,
                           criteria: BenchmarkCriteria(sloTimeToFirstToken: 0.2, sloTimeBetweenTokens: 0.05))
    }

    static func report(label: String = "this run", scale: Double = 1) -> BenchmarkReport {
        let configuration = BenchmarkReport.Configuration(
            label: label, url: "http://127.0.0.1:8000", endpoint: "completions", model: "stories <260K> & co", maxTokens: 8,
            prompts: "random input of 16 words (seed 0)", requestsPerLevel: [4, 4, 4], durationSeconds: nil, requestRate: nil,
            temperature: 0, ignoreEOS: true, seed: 0)
        return BenchmarkReport(startedAt: "2026-01-01T00:00:00Z", configuration: configuration, levels: [
            level(1, ttft: 0.05 * scale, gap: 0.02 * scale),
            level(2, ttft: 0.1 * scale, gap: 0.03 * scale),
            level(4, ttft: 0.1, gap: 0.03, e2eOverride: 61),
        ])
    }
}
