import Foundation

/// Everything a `bench serve` run needs.
public struct BenchmarkSettings: Sendable {
    public var label: String
    public var client: StreamingCompletionClient.Configuration
    public var template: RequestTemplate
    public var prompts: PromptSource
    /// Concurrency levels, run in this order.
    public var concurrencies: [Int]
    /// Requests per level; nil with no `duration` means max(8, 2 × concurrency).
    public var requestCount: Int?
    /// Seconds per level instead of a request count.
    public var duration: Double?
    public var requestRate: Double?
    public var seed: UInt64
    public var criteria: BenchmarkCriteria
    /// Keep running higher levels after one is marked Timeout (by default they are skipped and marked Timeout).
    public var continueAfterTimeout: Bool

    public init(label: String, client: StreamingCompletionClient.Configuration, template: RequestTemplate, prompts: PromptSource,
                concurrencies: [Int], requestCount: Int? = nil, duration: Double? = nil, requestRate: Double? = nil, seed: UInt64 = 0,
                criteria: BenchmarkCriteria = BenchmarkCriteria(), continueAfterTimeout: Bool = false) {
        self.label = label
        self.client = client
        self.template = template
        self.prompts = prompts
        self.concurrencies = concurrencies
        self.requestCount = requestCount
        self.duration = duration
        self.requestRate = requestRate
        self.seed = seed
        self.criteria = criteria
        self.continueAfterTimeout = continueAfterTimeout
    }

    /// The request count of a count-bounded level at `concurrency`.
    public func requests(atConcurrency concurrency: Int) -> Int { requestCount ?? max(8, 2 * concurrency) }
}

/// Runs a whole benchmark: learns the model name if none was given (`GET /v1/models`), sends one test request so
/// a wrong URL, key or model fails at once with the server's message, then runs every level in order with fresh
/// prompts and collects a `BenchmarkReport`. After a level is marked Timeout the higher ones are skipped (marked
/// Timeout, not run) unless `continueAfterTimeout` is set.
public final class BenchmarkRunner {
    /// A failure before any level ran.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    public private(set) var settings: BenchmarkSettings

    public init(_ settings: BenchmarkSettings) {
        self.settings = settings
    }

    /// Fills in the model from `/v1/models` when none was given (left unset if the server does not say), then sends
    /// the test request; throws if it fails.
    public func prepare() throws {
        let client = StreamingCompletionClient(settings.client)
        if settings.template.model == nil, let response = try? client.get(path: settings.client.url.apiPath("models")), response.status == 200,
           let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
           let models = object["data"] as? [[String: Any]], let id = models.first?["id"] as? String {
            settings.template.model = id
        }
        var probeTemplate = settings.template
        probeTemplate.maxTokens = min(settings.template.maxTokens, 4)
        let timing = client.stream(path: settings.client.url.apiPath(settings.template.endpoint.route),
                                   body: probeTemplate.body(prompt: settings.prompts.prompt(at: 1_000_000_007)),
                                   index: 0, origin: MonotonicClock.now())
        if let error = timing.error {
            throw SetupError(description: "the test request to \(settings.client.url) failed: \(error)")
        }
    }

    /// Runs every level; `levelStarted` announces each level that runs (its plan), `progress` reports each
    /// finished request, `levelFinished` each level's result (skipped ones too).
    public func run(levelStarted: (LevelPlan) -> Void = { _ in }, progress: @escaping @Sendable (LevelProgress) -> Void = { _ in },
                    levelFinished: (LevelResult) -> Void = { _ in }) -> BenchmarkReport {
        let startedAt = BenchmarkReport.timestamp()
        let generator = LoadGenerator(client: settings.client, template: settings.template, prompts: settings.prompts,
                                      criteria: settings.criteria)
        var levels: [LevelResult] = []
        var promptOffset = 0
        var timedOut = false
        for (number, concurrency) in settings.concurrencies.enumerated() {
            let level: LevelResult
            if timedOut && !settings.continueAfterTimeout {
                level = .skipped(concurrency: concurrency, requestRate: settings.requestRate, criteria: settings.criteria)
            } else {
                let plan = LevelPlan(concurrency: concurrency,
                                     requestCount: settings.duration == nil ? settings.requests(atConcurrency: concurrency) : nil,
                                     duration: settings.duration, requestRate: settings.requestRate,
                                     seed: settings.seed &+ UInt64(number), promptOffset: promptOffset)
                levelStarted(plan)
                level = generator.run(plan, progress: progress)
                promptOffset += level.requestCount
                timedOut = timedOut || level.timedOut
            }
            levels.append(level)
            levelFinished(level)
        }
        let t = settings.template
        let configuration = BenchmarkReport.Configuration(
            label: settings.label, url: settings.client.url.description, endpoint: t.endpoint.rawValue, model: t.model,
            maxTokens: t.maxTokens, prompts: settings.prompts.summary,
            requestsPerLevel: settings.duration == nil ? settings.concurrencies.map(settings.requests(atConcurrency:)) : nil,
            durationSeconds: settings.duration, requestRate: settings.requestRate, temperature: t.temperature, ignoreEOS: t.ignoreEOS,
            seed: settings.seed)
        return BenchmarkReport(startedAt: startedAt, configuration: configuration, levels: levels)
    }
}
