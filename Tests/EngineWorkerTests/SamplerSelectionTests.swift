import Foundation
import XCTest
import Kernels
@testable import EngineWorker

/// The sampler's candidate sets, draws and log-probabilities against a plain full-sort reference written here:
/// sort every token by logit (descending, ties by lower id), keep the first k, then the shortest prefix whose
/// softmax probability reaches top_p. Every generator has a fixed seed, so the statistical checks are
/// deterministic.
final class SamplerSelectionTests: XCTestCase {
    /// Random logits with many ties (multiples of 1/8 in [-4, 4)).
    private func tiedLogits(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Int(generator.next() % 64)) / 8 - 4 }
    }

    /// Random logits without structure, spread `spread`.
    private func smoothLogits(_ count: Int, seed: UInt64, spread: Float) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in (Float(generator.next() >> 40) / Float(1 << 24) - 0.5) * 2 * spread }
    }

    /// The reference: every token sorted, top-k, then top-p; returns the kept tokens in rank order and their
    /// probabilities renormalised over the kept set, plus how close the top-p cut came to p (for float ambiguity).
    private func reference(_ logits: [Float], temperature: Double, topK: Int = 0, topP: Double = 1)
        -> (tokens: [Int], probabilities: [Double], margin: Double) {
        var ranked = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if topK > 0 { ranked = Array(ranked.prefix(topK)) }
        let maxLogit = Double(logits[ranked[0]])
        let weights = ranked.map { exp((Double(logits[$0]) - maxLogit) / temperature) }
        let total = weights.reduce(0, +)
        var kept = ranked.count, cumulative = 0.0, margin = Double.infinity
        if topP < 1 {
            for (i, w) in weights.enumerated() {
                margin = min(margin, abs(cumulative + w / total - topP))
                cumulative += w / total
                if cumulative >= topP { kept = i + 1; break }
            }
        }
        let keptMass = weights[..<kept].reduce(0, +)
        return (Array(ranked[..<kept]), weights[..<kept].map { $0 / keptMass }, margin)
    }

    func testTopTokensMatchFullSort() {
        for (count, seed) in [(1000, UInt64(1)), (49, 2), (300, 3)] {
            for logits in [tiedLogits(count, seed: seed), smoothLogits(count, seed: seed, spread: 5)] {
                for k in [1, 2, 5, 40, count - 1, count, count + 7] {
                    let top = logits.withUnsafeBufferPointer { TopTokens.largest(k, of: $0.baseAddress!, count: count) }
                    XCTAssertEqual(top, reference(logits, temperature: 1, topK: min(k, count)).tokens, "count \(count), k \(k)")
                }
            }
        }
        XCTAssertEqual([Float](repeating: 1, count: 10).withUnsafeBufferPointer { TopTokens.largest(3, of: $0.baseAddress!, count: 10) },
                       [0, 1, 2], "all tied: lowest ids first")
    }

    func testNucleusMatchesFullSort() {
        var ambiguous = 0, checked = 0
        for (count, seed) in [(1000, UInt64(4)), (49_152, 5), (37, 6), (600, 7)] {
            for logits in [tiedLogits(count, seed: seed), smoothLogits(count, seed: seed, spread: 8)] {
                for temperature: Float in [0.5, 1, 2] {
                    for p: Float in [1e-4, 0.1, 0.5, 0.8, 0.9, 0.95, 0.999] {
                        let expected = reference(logits, temperature: Double(temperature), topP: Double(p))
                        // A cut within float rounding of p (the weights are floats, the mass summed per block) may fall
                        // either way; such cases are counted, not compared.
                        guard expected.margin > 2e-6 else { ambiguous += 1; continue }
                        let nucleus = logits.withUnsafeBufferPointer { b in
                            Nucleus(b.baseAddress!, count: count, softmax: SoftmaxMass(b.baseAddress!, count: count, temperature: temperature), p: p)
                        }
                        XCTAssertEqual(nucleus.members, expected.tokens.sorted(), "count \(count), T \(temperature), p \(p)")
                        checked += 1
                    }
                }
            }
        }
        print("nucleus vs full sort: \(checked) cases compared, \(ambiguous) within 2e-6 of p skipped")
        XCTAssertLessThan(ambiguous, checked / 10, "too few cases compared")
    }

    func testNucleusCutExactlyAtP() {
        // Eight equal tokens: the first four (lowest ids) hold exactly 0.5.
        let logits = [Float](repeating: 0.25, count: 8)
        let nucleus = logits.withUnsafeBufferPointer { b in
            Nucleus(b.baseAddress!, count: 8, softmax: SoftmaxMass(b.baseAddress!, count: 8, temperature: 1), p: 0.5)
        }
        XCTAssertEqual(nucleus.members, [0, 1, 2, 3])
        // One dominant token reaching p alone.
        var peaked = [Float](repeating: 0, count: 100)
        peaked[42] = 20
        let alone = peaked.withUnsafeBufferPointer { b in
            Nucleus(b.baseAddress!, count: 100, softmax: SoftmaxMass(b.baseAddress!, count: 100, temperature: 1), p: 0.9)
        }
        XCTAssertEqual(alone.members, [42])
    }

    /// Draws `times` tokens (logits fixed) and checks every token's frequency against the reference probability
    /// within 5 standard deviations of a binomial count (plus 1e-3 for the float arithmetic), and that nothing
    /// outside the reference set is drawn.
    private func assertFrequenciesMatch(_ logits: [Float], _ parameters: SamplingParameters, times: Int = 40_000,
                                        file: StaticString = #filePath, line: UInt = #line) {
        let expected = reference(logits, temperature: Double(parameters.temperature), topK: parameters.topK, topP: Double(parameters.topP))
        var sampler = Sampler(parameters)
        var counts = [Int: Int]()
        logits.withUnsafeBufferPointer { b in
            for _ in 0..<times { counts[Int(sampler.sample(b.baseAddress!, count: logits.count)), default: 0] += 1 }
        }
        XCTAssertTrue(Set(counts.keys).isSubset(of: expected.tokens), "drawn outside the kept set", file: file, line: line)
        for (token, p) in zip(expected.tokens, expected.probabilities) {
            let frequency = Double(counts[token, default: 0]) / Double(times)
            XCTAssertEqual(frequency, p, accuracy: 5 * (p * (1 - p) / Double(times)).squareRoot() + 1e-3,
                           "token \(token)", file: file, line: line)
        }
    }

    func testFrequenciesMatchReference() {
        let small = smoothLogits(40, seed: 8, spread: 2)   // all in the vector lanes and tail of one block
        let blocks = smoothLogits(700, seed: 9, spread: 4)  // three blocks of SoftmaxMass
        assertFrequenciesMatch(small, SamplingParameters(temperature: 1, seed: 100))
        assertFrequenciesMatch(small, SamplingParameters(temperature: 0.7, topP: 0.8, seed: 101))
        assertFrequenciesMatch(small, SamplingParameters(temperature: 1.5, topK: 5, seed: 102))
        assertFrequenciesMatch(small, SamplingParameters(temperature: 1, topK: 3, topP: 0.6, seed: 103))
        assertFrequenciesMatch(small, SamplingParameters(temperature: 1, topK: 1000, seed: 104))
        assertFrequenciesMatch(blocks, SamplingParameters(temperature: 1, seed: 105))
        assertFrequenciesMatch(blocks, SamplingParameters(temperature: 2, topP: 0.9, seed: 106))
        assertFrequenciesMatch(tiedLogits(300, seed: 10), SamplingParameters(temperature: 0.3, topP: 0.5, seed: 107))
    }

    func testTopLogprobsMatchFullSort() {
        for logits in [tiedLogits(2000, seed: 11), smoothLogits(49_152, seed: 12, spread: 6)] {
            var sampler = Sampler(SamplingParameters(temperature: 1, seed: 3, topLogprobs: 20))
            let token = logits.withUnsafeBufferPointer { sampler.next($0.baseAddress!, count: logits.count) }
            let maxLogit = Double(logits.max()!)
            let logNormaliser = maxLogit + log(logits.reduce(0) { $0 + exp(Double($1) - maxLogit) })
            let ranked = reference(logits, temperature: 1, topK: 20).tokens
            XCTAssertEqual(token.top.map { Int($0.id) }, ranked)
            for (entry, id) in zip(token.top, ranked) {
                XCTAssertEqual(Double(entry.logprob), Double(logits[id]) - logNormaliser, accuracy: 1e-4)
            }
            XCTAssertEqual(Double(token.logprob!), Double(logits[Int(token.id)]) - logNormaliser, accuracy: 1e-4)
        }
    }

    func testTopKKeepsTheTokensOfTheFullSortSampler() {
        // Recorded from the sampler that sorted the whole vocabulary: top-k still draws from its candidates most
        // likely first, so a seed gives the same tokens as before. (Without top-k the draw now runs in id order.)
        var generator = SplitMix64(seed: 99)
        let logits = (0..<4000).map { _ in Float(Int(generator.next() % 64)) / 8 - 4 }
        for (parameters, expected) in [
            (SamplingParameters(temperature: 1, topK: 40, seed: 11),
             [841, 697, 62, 343, 556, 582, 275, 63, 908, 458, 326, 785, 123, 458, 473, 725, 534, 381, 494, 74, 624, 139, 540, 304]),
            (SamplingParameters(temperature: 0.7, topK: 5, topP: 0.8, seed: 12),
             [330, 407, 38, 240, 387, 259, 38, 240, 238, 167, 275, 236, 330, 167, 257, 122, 387, 313, 257, 236, 330, 407, 166, 236]),
        ] as [(SamplingParameters, [Int32])] {
            var sampler = Sampler(parameters)
            let tokens = logits.withUnsafeBufferPointer { b in (0..<24).map { sampler.sample(b.baseAddress! + ($0 % 4) * 1000, count: 1000) } }
            XCTAssertEqual(tokens, expected)
        }
    }

    func testSameSeedSameTokensInEveryMode() {
        let rows = (0..<4).map { smoothLogits(3000, seed: 20 + UInt64($0), spread: 5) }
        for parameters in [SamplingParameters(temperature: 1, seed: 77), SamplingParameters(temperature: 0.8, topP: 0.9, seed: 78),
                           SamplingParameters(temperature: 1, topK: 40, seed: 79), SamplingParameters(temperature: 1, topK: 5000, seed: 80)] {
            func run() -> [Int32] {
                var sampler = Sampler(parameters)
                return (0..<64).map { step in rows[step % 4].withUnsafeBufferPointer { sampler.sample($0.baseAddress!, count: 3000) } }
            }
            let first = run()
            XCTAssertEqual(first, run(), "\(parameters)")
            XCTAssertGreaterThan(Set(first).count, 4, "\(parameters) should vary")
        }
    }
}
