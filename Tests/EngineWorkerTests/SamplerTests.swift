import Foundation
import XCTest
import Kernels
@testable import EngineWorker

/// Greedy, seeded reproducibility, top-k, top-p and the sampled distribution. Every sampler has a fixed seed, so
/// the statistical checks are deterministic.
final class SamplerTests: XCTestCase {
    private let logits: [Float] = [0.5, 2.0, -1.0, 1.5, 0.0, 2.0, -3.0, 1.0]

    private func draw(_ parameters: SamplingParameters, _ logits: [Float], times: Int) -> [Int32] {
        var sampler = Sampler(parameters)
        return (0..<times).map { _ in sampler.sample(logits, count: logits.count) }
    }

    func testGreedyIsArgmaxWithFirstIndexOnTies() {
        XCTAssertTrue(SamplingParameters.greedy.isGreedy)
        // Index 1 and 5 tie at 2.0: the first wins.
        XCTAssertEqual(draw(.greedy, logits, times: 5), [1, 1, 1, 1, 1])
        XCTAssertEqual(draw(SamplingParameters(temperature: 0, seed: 3), [-2, -1, -7], times: 1), [1])
    }

    func testSameSeedGivesSameSequence() {
        let parameters = SamplingParameters(temperature: 1, seed: 42)
        let a = draw(parameters, logits, times: 200), b = draw(parameters, logits, times: 200)
        XCTAssertEqual(a, b)
        XCTAssertGreaterThan(Set(a).count, 3, "temperature 1 should visit several tokens")
    }

    func testDifferentSeedsDiffer() {
        let a = draw(SamplingParameters(temperature: 1, seed: 1), logits, times: 200)
        let b = draw(SamplingParameters(temperature: 1, seed: 2), logits, times: 200)
        XCTAssertNotEqual(a, b)
    }

    func testTopKOneIsGreedyEvenAtTemperatureOne() {
        let parameters = SamplingParameters(temperature: 1, topK: 1, seed: 9)
        XCTAssertTrue(parameters.isGreedy)
        XCTAssertEqual(Set(draw(parameters, logits, times: 100)), [1])
    }

    func testTopKThreeStaysInTheThreeLargest() {
        // Largest three (ties by lower id): 1 (2.0), 5 (2.0), 3 (1.5).
        let samples = draw(SamplingParameters(temperature: 1, topK: 3, seed: 123), logits, times: 2000)
        XCTAssertEqual(Set(samples), [1, 3, 5])
        // With a high temperature the other tokens would be likely without the limit.
        let hot = draw(SamplingParameters(temperature: 50, topK: 3, seed: 124), logits, times: 2000)
        XCTAssertEqual(Set(hot), [1, 3, 5])
    }

    func testTopPHalfKeepsOnlyTheTopToken() {
        let probabilities: [Float] = [0.3, 0.6, 0.1]
        let logits = probabilities.map { Float(log(Double($0))) }
        let samples = draw(SamplingParameters(temperature: 1, topP: 0.5, seed: 5), logits, times: 2000)
        XCTAssertEqual(Set(samples), [1])
        // top_p 0.8 keeps the top two (0.6 + 0.3 ≥ 0.8) and never the third.
        let two = draw(SamplingParameters(temperature: 1, topP: 0.8, seed: 6), logits, times: 2000)
        XCTAssertEqual(Set(two), [0, 1])
    }

    func testEmpiricalFrequenciesMatchSoftmax() {
        for (temperature, seed) in [(Float(1), UInt64(2025)), (0.7, 7), (2, 8)] {
            let draws = 20000
            let samples = draw(SamplingParameters(temperature: temperature, seed: seed), logits, times: draws)
            let weights = logits.map { exp(Double($0) / Double(temperature)) }
            let total = weights.reduce(0, +)
            var counts = [Int](repeating: 0, count: logits.count)
            for s in samples { counts[Int(s)] += 1 }
            for i in logits.indices {
                XCTAssertEqual(Double(counts[i]) / Double(draws), weights[i] / total, accuracy: 0.02,
                               "temperature \(temperature), token \(i)")
            }
        }
    }

    func testSplitMix64ReferenceValues() {
        // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(generator.next(), 0x06C4_5D18_8009_454F)
    }
}

/// Penalties and log-probabilities of `Sampler.next`.
final class SamplerLogprobTests: XCTestCase {
    func testLogprobsAreLogSoftmaxAndTopIsSorted() {
        let logits: [Float] = [1, 3, 2, 0.5]
        var sampler = Sampler(SamplingParameters(topLogprobs: 4))
        let token = logits.withUnsafeBufferPointer { sampler.next($0.baseAddress!, count: 4) }
        XCTAssertEqual(token.id, 1)
        let total = logits.map { exp(Double($0)) }.reduce(0, +)
        XCTAssertEqual(Double(token.logprob!), 3 - log(total), accuracy: 1e-5)
        XCTAssertEqual(token.top.map(\.id), [1, 2, 0, 3])
        XCTAssertEqual(token.top.map { exp(Double($0.logprob)) }.reduce(0, +), 1, accuracy: 1e-5)
    }

    func testPenaltiesSteerAwayFromRepeatedTokens() {
        let logits: [Float] = [0, 2, 1.5]
        var plain = Sampler(.greedy)
        var penalised = Sampler(SamplingParameters(presencePenalty: 0.3, frequencyPenalty: 0.3))
        var plainTokens: [Int32] = [], penalisedTokens: [Int32] = []
        logits.withUnsafeBufferPointer { p in
            for _ in 0..<4 {
                plainTokens.append(plain.next(p.baseAddress!, count: 3).id)
                penalisedTokens.append(penalised.next(p.baseAddress!, count: 3).id)
            }
        }
        XCTAssertEqual(plainTokens, [1, 1, 1, 1])
        // After one 1: 2 - 0.6 = 1.4 < 1.5 → 2; after one 2 as well: 1.4 vs 0.9 → 1; then 0.3+0.6=0.9 off → 2 - 0.9 = 1.1 vs 0.9 → 1.
        XCTAssertEqual(penalisedTokens, [1, 2, 1, 1])
        XCTAssertNil(plain.next([Float(0), 1].withUnsafeBufferPointer { $0.baseAddress! }, count: 2).logprob)
    }
}
