import Foundation

/// How the next token is chosen from the logits of one sequence. A temperature of 0 means greedy (argmax).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (1 = no limit).
    public var topP: Float
    /// Seed for reproducible sampling; nil draws one from the system.
    public var seed: UInt64?

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
    public var isGreedy: Bool { temperature <= 1e-6 || topK == 1 }
}

/// SplitMix64: a tiny, well-mixed 64-bit generator. Sampling needs a generator that can be seeded so that a
/// request with a `seed` produces the same text every time, which the system generator cannot do.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Picks tokens for one sequence: greedy, or temperature + top-k + top-p sampling with its own seeded generator.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var generator: SplitMix64

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        generator = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// The next token id given `count` logits.
    public mutating func sample(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        if parameters.isGreedy { return Int32(VectorMath.argmax(logits, count: count)) }
        // Candidates sorted by logit, descending; ties keep the lower id first so results do not depend on sort stability.
        var candidates = Array(0..<count)
        let limit = parameters.topK > 0 ? min(parameters.topK, count) : count
        candidates.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        candidates.removeSubrange(limit...)
        let maxLogit = logits[candidates[0]]
        var probabilities = candidates.map { expf((logits[$0] - maxLogit) / parameters.temperature) }
        let total = probabilities.reduce(0, +)
        for i in probabilities.indices { probabilities[i] /= total }
        var kept = probabilities.count
        if parameters.topP < 1 {
            var cumulative: Float = 0
            for (i, p) in probabilities.enumerated() {
                cumulative += p
                if cumulative >= parameters.topP { kept = i + 1; break }
            }
        }
        let mass = probabilities[..<kept].reduce(0, +)
        var draw = Float(Double(generator.next() >> 11) * 0x1p-53) * mass
        for i in 0..<kept {
            draw -= probabilities[i]
            if draw < 0 { return Int32(candidates[i]) }
        }
        return Int32(candidates[kept - 1])
    }
}
