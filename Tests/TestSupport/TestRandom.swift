/// The tests' deterministic generator for test data (xorshift64*): fixed seeds make fuzz and numeric tests replay
/// identically, and it is independent of the engine's SplitMix64 so that the data the kernels are checked on does
/// not come from code under test.
public struct TestRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    public mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in [lower, upper).
    public mutating func float(_ lower: Float = -1, _ upper: Float = 1) -> Float {
        let unit = Double(next() >> 11) * 0x1p-53
        return lower + Float(unit) * (upper - lower)
    }

    public mutating func floats(_ count: Int, _ lower: Float = -1, _ upper: Float = 1) -> [Float] {
        (0..<count).map { _ in float(lower, upper) }
    }

    /// Uniform in 0..<bound.
    public mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Fisher–Yates shuffle.
    public mutating func shuffled<T>(_ array: [T]) -> [T] {
        var a = array
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(i + 1)) }
        return a
    }
}
