/// Mean, extremes and percentiles of a sample of durations in seconds (TTFT, TBT, inter-token gaps, end-to-end).
///
/// Percentiles interpolate linearly between the closest ranks (NumPy's default, Hyndman–Fan type 7): for the
/// samples sorted ascending as x₀…xₙ₋₁ and a percentile p in 0…100, the rank is h = (n − 1)·p ÷ 100 and the
/// value is x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋). So with one sample every percentile is that sample; with two, p50 is
/// their midpoint and p90 lies 90% of the way from the smaller to the larger. An empty sample has no summary.
public struct LatencySummary: Codable, Equatable, Sendable {
    public var count: Int
    public var mean: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var min: Double
    public var max: Double

    /// The summary of `samples` (any order), or nil when there are none.
    public init?(_ samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        count = sorted.count
        mean = sorted.reduce(0, +) / Double(sorted.count)
        p50 = Self.percentile(50, ofSorted: sorted)
        p90 = Self.percentile(90, ofSorted: sorted)
        p99 = Self.percentile(99, ofSorted: sorted)
        min = sorted[0]
        max = sorted[sorted.count - 1]
    }

    /// The `p`-th percentile (0…100) of samples already sorted ascending, by linear interpolation (see the type).
    /// `sorted` must not be empty.
    public static func percentile(_ p: Double, ofSorted sorted: [Double]) -> Double {
        precondition(!sorted.isEmpty, "percentile of an empty sample")
        let rank = Double(sorted.count - 1) * Swift.min(Swift.max(p, 0), 100) / 100
        let lower = Int(rank.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (rank - Double(lower)) * (sorted[upper] - sorted[lower])
    }
}
