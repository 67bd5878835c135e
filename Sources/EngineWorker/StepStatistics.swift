/// Recent engine-step timings for the admin socket's status: step-time percentiles over the last `capacity`
/// steps, and steps and tokens per second over a sliding window of whole seconds.
///
/// The engine thread records each step; readers copy the value under the worker's lock. Times are monotonic
/// seconds passed in by the caller, so tests can drive it with made-up clocks.
public struct StepStatistics: Sendable {
    /// Steps whose durations are kept for percentiles.
    public let capacity: Int
    /// Length of the rate window in seconds.
    public let windowSeconds: Int
    /// When counting started (the rates' window never reaches before it).
    public let start: Double

    private var durations: [Double] = []
    private var next = 0
    /// Per whole second since `start`: that second's index, steps and tokens; a ring of `windowSeconds` slots.
    private var buckets: [(second: Int, steps: Int, generated: Int, computed: Int)]

    public init(start: Double, capacity: Int = 1000, windowSeconds: Int = 10) {
        precondition(capacity >= 1 && windowSeconds >= 1)
        self.start = start
        self.capacity = capacity
        self.windowSeconds = windowSeconds
        buckets = Array(repeating: (-1, 0, 0, 0), count: windowSeconds)
    }

    /// Records one step that ended at `end` and took `duration` seconds, sampling `generated` tokens after
    /// computing `computed` tokens (prefill chunks and decode tokens).
    public mutating func record(end: Double, duration: Double, generated: Int, computed: Int) {
        if durations.count < capacity {
            durations.append(duration)
        } else {
            durations[next] = duration
        }
        next = (next + 1) % capacity
        let second = max(0, Int((end - start).rounded(.down)))
        let slot = second % windowSeconds
        if buckets[slot].second != second { buckets[slot] = (second, 0, 0, 0) }
        buckets[slot].steps += 1
        buckets[slot].generated += generated
        buckets[slot].computed += computed
    }

    /// Steps whose durations are currently kept.
    public var sampleCount: Int { durations.count }

    /// The `p`-th percentile (0…100, nearest rank) of the kept step durations in seconds; nil before any step.
    public func stepTime(percentile p: Double) -> Double? {
        guard !durations.isEmpty else { return nil }
        let sorted = durations.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Steps, generated tokens and computed tokens per second over the window that ends at `now`: the current
    /// (partial) second and the `windowSeconds - 1` before it, but never before `start`.
    public func rates(now: Double) -> (steps: Double, generated: Double, computed: Double) {
        let current = max(0, Int((now - start).rounded(.down)))
        let first = max(0, current - windowSeconds + 1)
        var steps = 0, generated = 0, computed = 0
        for bucket in buckets where bucket.second >= first && bucket.second <= current {
            steps += bucket.steps
            generated += bucket.generated
            computed += bucket.computed
        }
        let span = now - (start + Double(first))
        guard span > 0 else { return (0, 0, 0) }
        return (Double(steps) / span, Double(generated) / span, Double(computed) / span)
    }
}
