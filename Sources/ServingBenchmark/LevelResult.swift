/// One concurrency level of a run: its raw request timings and every figure derived from them.
///
/// - TTFT and end-to-end latency: per successful request.
/// - TBT: per successful request, (last token chunk − first token chunk) ÷ (usage completion tokens − 1).
/// - ITL (inter-token latency): every gap between consecutive token chunks of successful requests, pooled.
/// - Throughput: usage completion tokens of successful requests, and successful requests, ÷ the level's
///   wall-clock duration (first request start to last request end, measured by the runner).
/// - Goodput: successful requests meeting the objectives of `BenchmarkCriteria`, per second and as a share of all
///   requests.
/// - Timeout: the paper's rule from `BenchmarkCriteria` (share of requests not completing in time ≥ the fraction).
public struct LevelResult: Codable, Equatable, Sendable {
    /// Closed-loop clients (the most requests in flight at once).
    public var concurrency: Int
    /// Poisson arrival rate in requests per second, nil for back-to-back requests.
    public var requestRate: Double?
    /// Wall-clock seconds the level took.
    public var durationSeconds: Double
    /// True when the level was not run because a lower level had timed out; every figure is then empty.
    public var skipped: Bool

    public var requestCount: Int
    public var successCount: Int
    public var errorCount: Int
    /// Successful requests whose response carried no `usage` (their tokens count nowhere).
    public var missingUsageCount: Int
    /// Up to five distinct error messages, for the report.
    public var sampleErrors: [String]

    public var timeToFirstToken: LatencySummary?
    public var timeBetweenTokens: LatencySummary?
    public var interTokenLatency: LatencySummary?
    public var endToEndLatency: LatencySummary?

    public var promptTokens: Int
    public var outputTokens: Int
    public var outputTokensPerSecond: Double
    public var requestsPerSecond: Double

    /// Requests that completed successfully within the timeout, and whether the level is marked Timeout.
    public var completedInTimeCount: Int
    public var timedOut: Bool

    /// Requests meeting the objectives; nil when no objective is set.
    public var goodRequestCount: Int?
    /// Good requests per second; nil when no objective is set.
    public var goodputRequestsPerSecond: Double?

    /// The criteria the figures were judged by.
    public var criteria: BenchmarkCriteria
    /// Every request, in start order.
    public var requests: [RequestTiming]

    /// Derives all figures from `requests` measured over `durationSeconds`.
    public init(concurrency: Int, requestRate: Double? = nil, durationSeconds: Double, requests: [RequestTiming],
                criteria: BenchmarkCriteria, skipped: Bool = false) {
        self.concurrency = concurrency
        self.requestRate = requestRate
        self.durationSeconds = durationSeconds
        self.skipped = skipped
        self.criteria = criteria
        self.requests = requests.sorted { $0.index < $1.index }

        let successes = requests.filter(\.succeeded)
        requestCount = requests.count
        successCount = successes.count
        errorCount = requests.count - successes.count
        missingUsageCount = successes.filter { $0.completionTokens == nil }.count
        var errors: [String] = []
        for message in requests.compactMap(\.error) where !errors.contains(message) && errors.count < 5 { errors.append(message) }
        sampleErrors = errors

        timeToFirstToken = LatencySummary(successes.compactMap(\.timeToFirstToken))
        timeBetweenTokens = LatencySummary(successes.compactMap(\.timeBetweenTokens))
        interTokenLatency = LatencySummary(successes.flatMap(\.interChunkGaps))
        endToEndLatency = LatencySummary(successes.map(\.endToEndLatency))

        promptTokens = successes.reduce(0) { $0 + ($1.promptTokens ?? 0) }
        outputTokens = successes.reduce(0) { $0 + ($1.completionTokens ?? 0) }
        outputTokensPerSecond = durationSeconds > 0 ? Double(outputTokens) / durationSeconds : 0
        requestsPerSecond = durationSeconds > 0 ? Double(successCount) / durationSeconds : 0

        completedInTimeCount = requests.filter(criteria.completedInTime).count
        let notInTime = requests.count - completedInTimeCount
        timedOut = !requests.isEmpty && Double(notInTime) >= criteria.timeoutFraction * Double(requests.count) - 1e-9

        if criteria.hasObjectives {
            let good = requests.filter(criteria.meetsObjectives).count
            goodRequestCount = good
            goodputRequestsPerSecond = durationSeconds > 0 ? Double(good) / durationSeconds : 0
        } else {
            goodRequestCount = nil
            goodputRequestsPerSecond = nil
        }
    }

    /// A level that was not run (a lower level timed out): marked Timeout, with no figures.
    public static func skipped(concurrency: Int, requestRate: Double?, criteria: BenchmarkCriteria) -> LevelResult {
        var level = LevelResult(concurrency: concurrency, requestRate: requestRate, durationSeconds: 0, requests: [],
                                criteria: criteria, skipped: true)
        level.timedOut = true
        return level
    }

    /// Good requests as a share of all requests (0…1); nil when no objective is set or nothing ran.
    public var goodputFraction: Double? {
        guard let good = goodRequestCount, requestCount > 0 else { return nil }
        return Double(good) / Double(requestCount)
    }
}
