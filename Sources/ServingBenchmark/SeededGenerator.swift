import Kernels

/// The benchmark's deterministic random numbers: the engine's `SplitMix64` (the same seed gives the same sequence
/// on every machine and Swift version, which `SystemRandomNumberGenerator` does not promise), plus uniform doubles.
/// Used for synthetic prompts and Poisson arrival times so runs are repeatable.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var base: SplitMix64

    public init(seed: UInt64) { base = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { base.next() }

    /// A uniform double in [0, 1) from the top 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
