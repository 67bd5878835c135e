import Foundation
import Kernels

/// How the next token is chosen from the logits of one sequence. A temperature of 0 means greedy (argmax).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (1 = no limit).
    public var topP: Float
    /// Seed for reproducible sampling; nil draws one from the system.
    public var seed: UInt64?
    /// Subtracted once from the logit of every token already generated (OpenAI `presence_penalty`).
    public var presencePenalty: Float
    /// Subtracted from a token's logit once per time it was generated (OpenAI `frequency_penalty`).
    public var frequencyPenalty: Float
    /// nil: no log-probabilities; otherwise how many most likely alternatives to report with each token.
    public var topLogprobs: Int?

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64? = nil,
                presencePenalty: Float = 0, frequencyPenalty: Float = 0, topLogprobs: Int? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.topLogprobs = topLogprobs
    }

    public static let greedy = SamplingParameters()
    public var isGreedy: Bool { temperature <= 1e-6 || topK == 1 }
}

/// A sampled token and, when asked for, its log-probability and the most likely alternatives'.
public struct SampledToken: Sendable, Equatable {
    public var id: Int32
    public var logprob: Float?
    public var top: [(id: Int32, logprob: Float)]

    public static func == (a: SampledToken, b: SampledToken) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

/// Picks tokens for one sequence: greedy, or temperature + top-k + top-p sampling with its own seeded generator,
/// after presence/frequency penalties over the tokens it generated before.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var generator: SplitMix64
    /// How often each token was generated so far (only kept when a penalty is set).
    private var generatedCounts: [Int32: Int] = [:]

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        generator = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    private var hasPenalties: Bool { parameters.presencePenalty != 0 || parameters.frequencyPenalty != 0 }

    /// The next token given `count` logits (left unchanged), with log-probabilities when the parameters ask.
    public mutating func next(_ logits: UnsafePointer<Float>, count: Int) -> SampledToken {
        guard hasPenalties || parameters.topLogprobs != nil else {
            return SampledToken(id: sample(logits, count: count), logprob: nil, top: [])
        }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { buffer in
            let adjusted = buffer.baseAddress!
            adjusted.update(from: logits, count: count)
            for (token, n) in generatedCounts {
                adjusted[Int(token)] -= parameters.presencePenalty + parameters.frequencyPenalty * Float(n)
            }
            let id = sample(adjusted, count: count)
            if hasPenalties { generatedCounts[id, default: 0] += 1 }
            guard let topCount = parameters.topLogprobs else { return SampledToken(id: id, logprob: nil, top: []) }
            // log-softmax of the penalised logits (before temperature), as OpenAI reports them.
            let softmax = SoftmaxMass(adjusted, count: count, temperature: 1)
            let logNormaliser = softmax.maxLogit + Float(log(softmax.total))
            let top = TopTokens.largest(topCount, of: adjusted, count: count).map { (Int32($0), adjusted[$0] - logNormaliser) }
            return SampledToken(id: id, logprob: adjusted[Int(id)] - logNormaliser, top: top)
        }
    }

    /// The next token id given `count` logits (no penalties applied here). Nothing sorts the vocabulary: top-k
    /// keeps `TopTokens` and draws from them most likely first; without top-k the draw runs in id order over the
    /// `SoftmaxMass` blocks, or over the `Nucleus` for top-p. One number from the generator per token either way.
    public mutating func sample(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        if parameters.isGreedy { return Int32(VectorMath.argmax(logits, count: count)) }
        let uniform = Double(generator.next() >> 11) * 0x1p-53
        if parameters.topK > 0 && parameters.topK < count {
            return Int32(draw(uniform, from: TopTokens.largest(parameters.topK, of: logits, count: count), logits))
        }
        let softmax = SoftmaxMass(logits, count: count, temperature: parameters.temperature)
        guard parameters.topP < 1 else { return Int32(softmax.token(at: uniform * softmax.total, logits, count: count)) }
        let nucleus = Nucleus(logits, count: count, softmax: softmax, p: parameters.topP)
        return Int32(nucleus.token(at: uniform * nucleus.mass))
    }

    /// Draws from `candidates` (most likely first) after temperature and top-p.
    private func draw(_ uniform: Double, from candidates: [Int], _ logits: UnsafePointer<Float>) -> Int {
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
        var remaining = Float(uniform) * mass
        for i in 0..<kept {
            remaining -= probabilities[i]
            if remaining < 0 { return candidates[i] }
        }
        return candidates[kept - 1]
    }
}
