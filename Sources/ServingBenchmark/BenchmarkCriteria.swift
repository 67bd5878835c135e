/// The judgements applied to a level's requests: the paper's timeout rule and the optional service-level
/// objectives that define goodput.
public struct BenchmarkCriteria: Codable, Equatable, Sendable {
    /// A request "completes in time" when it succeeds within this many seconds end to end (the paper: 60 s).
    public var timeoutSeconds: Double
    /// A level is marked Timeout when at least this share of its requests does not complete in time (the paper:
    /// 90%). The comparison is inclusive: exactly 90% not completing is a Timeout.
    public var timeoutFraction: Double
    /// Largest time to first token (seconds) a request may have to count toward goodput; nil: no TTFT objective.
    public var sloTimeToFirstToken: Double?
    /// Largest time between tokens (seconds) a request may have to count toward goodput; nil: no TBT objective.
    public var sloTimeBetweenTokens: Double?

    public init(timeoutSeconds: Double = 60, timeoutFraction: Double = 0.9, sloTimeToFirstToken: Double? = nil,
                sloTimeBetweenTokens: Double? = nil) {
        self.timeoutSeconds = timeoutSeconds
        self.timeoutFraction = timeoutFraction
        self.sloTimeToFirstToken = sloTimeToFirstToken
        self.sloTimeBetweenTokens = sloTimeBetweenTokens
    }

    /// True when goodput is measured (at least one objective is set).
    public var hasObjectives: Bool { sloTimeToFirstToken != nil || sloTimeBetweenTokens != nil }

    /// True when `request` succeeded and meets every objective that is set. A request with a single token has no
    /// time between tokens and meets the TBT objective by default.
    public func meetsObjectives(_ request: RequestTiming) -> Bool {
        guard request.succeeded else { return false }
        if let slo = sloTimeToFirstToken {
            guard let ttft = request.timeToFirstToken, ttft <= slo else { return false }
        }
        if let slo = sloTimeBetweenTokens, let tbt = request.timeBetweenTokens, tbt > slo { return false }
        return true
    }

    /// True when `request` succeeded within `timeoutSeconds`.
    public func completedInTime(_ request: RequestTiming) -> Bool {
        request.succeeded && request.endToEndLatency <= timeoutSeconds
    }
}
