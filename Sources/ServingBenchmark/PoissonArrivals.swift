import Foundation

/// Arrival times of a Poisson process (`--request-rate R`): independent exponential gaps with mean 1/R seconds,
/// drawn from a seeded generator so a run's schedule is repeatable. Times are seconds from the start of a level.
public struct PoissonArrivals: Sendable {
    public let rate: Double
    private var generator: SeededGenerator
    private var time = 0.0

    /// `rate` requests per second, must be > 0.
    public init(rate: Double, seed: UInt64) {
        precondition(rate > 0 && rate.isFinite, "request rate must be positive")
        self.rate = rate
        generator = SeededGenerator(seed: seed)
    }

    /// The next arrival time: the previous one plus −ln(1 − u)/rate for a uniform u in [0, 1).
    public mutating func next() -> Double {
        time += -log(1 - generator.nextUnit()) / rate
        return time
    }
}
