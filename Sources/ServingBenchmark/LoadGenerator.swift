import Foundation

/// How one concurrency level runs: `concurrency` closed-loop users, bounded by a request count or by a duration,
/// sending back to back or, with `requestRate`, at Poisson arrival times (never more than `concurrency` in
/// flight: an arrival waits for a free user).
public struct LevelPlan: Sendable {
    public var concurrency: Int
    /// Requests in the level (count-bounded); nil when `duration` bounds it.
    public var requestCount: Int?
    /// Seconds during which new requests start (time-bounded); requests in flight then finish.
    public var duration: Double?
    /// Poisson arrivals per second; nil: back to back.
    public var requestRate: Double?
    /// Seed of the arrival schedule.
    public var seed: UInt64
    /// Index of the level's first prompt in the prompt source (levels use fresh prompts).
    public var promptOffset: Int

    public init(concurrency: Int, requestCount: Int? = nil, duration: Double? = nil, requestRate: Double? = nil, seed: UInt64 = 0,
                promptOffset: Int = 0) {
        precondition(concurrency >= 1 && (requestCount != nil) != (duration != nil), "a level needs a concurrency and one bound")
        self.concurrency = concurrency
        self.requestCount = requestCount
        self.duration = duration
        self.requestRate = requestRate
        self.seed = seed
        self.promptOffset = promptOffset
    }
}

/// Progress of the running level, reported after every finished request.
public struct LevelProgress: Sendable {
    public var concurrency: Int
    public var finished: Int
    public var errors: Int
    /// The level's request count when it is count-bounded.
    public var total: Int?
    /// The level's duration when it is time-bounded.
    public var duration: Double?
    public var elapsed: Double
}

/// Runs one level: starts one `Thread` per user, each with its own `StreamingCompletionClient`, lets them claim
/// request indices (and arrival times) from a shared, locked schedule until the level's bound is reached, and
/// derives a `LevelResult` from the timings. Every user loop is bounded by `maxRequestsPerLevel` and every request
/// by the client's deadline.
public struct LoadGenerator: Sendable {
    /// Hard cap on requests in one level (for time-bounded levels).
    public static let maxRequestsPerLevel = 1_000_000

    public var client: StreamingCompletionClient.Configuration
    public var template: RequestTemplate
    public var prompts: PromptSource
    public var criteria: BenchmarkCriteria

    public init(client: StreamingCompletionClient.Configuration, template: RequestTemplate, prompts: PromptSource, criteria: BenchmarkCriteria) {
        self.client = client
        self.template = template
        self.prompts = prompts
        self.criteria = criteria
    }

    /// Runs `plan` and returns its result; `progress` is called (serialised) after each request.
    public func run(_ plan: LevelPlan, progress: @escaping @Sendable (LevelProgress) -> Void = { _ in }) -> LevelResult {
        let origin = MonotonicClock.now()
        let schedule = Schedule(plan: plan, origin: origin, progress: progress)
        let done = DispatchSemaphore(value: 0)
        let path = client.url.apiPath(template.endpoint.route)
        for user in 0..<plan.concurrency {
            let thread = Thread { [client, template, prompts] in
                let http = StreamingCompletionClient(client)
                for _ in 0..<Self.maxRequestsPerLevel {
                    guard let (index, arrival) = schedule.claim() else { break }
                    if let arrival { Self.wait(until: origin + UInt64(arrival * 1e9)) }
                    let body = template.body(prompt: prompts.prompt(at: plan.promptOffset + index))
                    schedule.record(http.stream(path: path, body: body, index: index, origin: origin))
                }
                done.signal()
            }
            thread.name = "bench-user-\(user)"
            thread.start()
        }
        for _ in 0..<plan.concurrency { done.wait() }
        let duration = MonotonicClock.seconds(from: origin, to: MonotonicClock.now())
        return LevelResult(concurrency: plan.concurrency, requestRate: plan.requestRate, durationSeconds: duration,
                           requests: schedule.results, criteria: criteria)
    }

    /// Paces a Poisson arrival: sleeps in slices of at most 50 ms until `time` (a `MonotonicClock` time).
    static func wait(until time: UInt64) {
        for _ in 0..<1_000_000 {
            let now = MonotonicClock.now()
            guard now < time else { return }
            usleep(UInt32(min(time - now, 50_000_000) / 1000))
        }
    }

    /// The level's shared state: which request comes next (and when), and the timings so far.
    private final class Schedule: @unchecked Sendable {
        private let lock = NSLock()
        private let plan: LevelPlan
        private let origin: UInt64
        private let progress: @Sendable (LevelProgress) -> Void
        private var arrivals: PoissonArrivals?
        private var next = 0
        private var errors = 0
        private var timings: [RequestTiming] = []

        init(plan: LevelPlan, origin: UInt64, progress: @escaping @Sendable (LevelProgress) -> Void) {
            self.plan = plan
            self.origin = origin
            self.progress = progress
            arrivals = plan.requestRate.map { PoissonArrivals(rate: $0, seed: plan.seed) }
        }

        /// The next request's index and, with a request rate, its arrival time (seconds since the origin); nil
        /// when the level's bound is reached.
        func claim() -> (Int, Double?)? {
            lock.withLock {
                guard next < LoadGenerator.maxRequestsPerLevel else { return nil }
                if let count = plan.requestCount, next >= count { return nil }
                let elapsed = MonotonicClock.seconds(from: origin, to: MonotonicClock.now())
                if let duration = plan.duration, elapsed >= duration { return nil }
                var arrival: Double?
                if arrivals != nil {
                    let time = arrivals!.next()
                    if let duration = plan.duration, time >= duration { return nil }
                    arrival = time
                }
                defer { next += 1 }
                return (next, arrival)
            }
        }

        func record(_ timing: RequestTiming) {
            lock.withLock {
                timings.append(timing)
                if !timing.succeeded { errors += 1 }
                progress(LevelProgress(concurrency: plan.concurrency, finished: timings.count, errors: errors, total: plan.requestCount,
                                       duration: plan.duration, elapsed: MonotonicClock.seconds(from: origin, to: MonotonicClock.now())))
            }
        }

        var results: [RequestTiming] { lock.withLock { timings } }
    }
}
