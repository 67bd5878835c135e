import XCTest
import Foundation
import Kernels
import ModelFormats
import TestSupport
@testable import EngineWorker

/// Each model family's math against transformers: the tiny checkpoints of `golden/arch-fixtures` (Qwen2 biases,
/// Qwen3 q/k norms, Mistral's sliding window, Phi-3's fused projections, Llama 3 RoPE scaling, Gemma 2 soft-caps
/// and alternating windows, Gemma 3's local/global layers, Mixtral's experts) must give transformers' 24 greedy
/// tokens exactly and its top-5 logits within 1e-3 — prefilled at once, and prefilled in 3-token chunks over
/// 4-token blocks (windows that start inside a block, blocks a sliding layer no longer reads). Each fixture
/// converted to GGUF as llama.cpp's converter does (`FixtureGGUFConverter`: llama.cpp's names and metadata, Q/K
/// permuted for `llama`, Gemma's norms stored as 1 + w, Mixtral's experts stacked, Llama 3's `rope_freqs`) gives
/// the same tokens. Mistral is the exception llama.cpp makes: its converter writes Mistral as plain `llama` and
/// drops `sliding_window`, so that GGUF is compared only while sequences fit in the window.
final class ArchitectureFixtureTests: XCTestCase {
    func testQwen2() throws { try check("qwen2", expect: { XCTAssertTrue($0.attentionBias) }) }
    func testQwen3() throws { try check("qwen3", expect: { XCTAssertTrue($0.queryKeyNorm); XCTAssertEqual($0.headDim, 24) }) }
    func testMistralSlidingWindow() throws {
        try check("mistral-sliding-window", expect: { XCTAssertEqual($0.layers.map(\.window), [12, 12, 12]) })
    }
    func testPhi3() throws { try check("phi3", expect: { XCTAssertEqual($0.family, .phi3) }) }
    func testLlama3Rope() throws {
        try check("llama3-rope", expect: {
            guard case .llama3 = $0.layers[0].ropeScaling else { return XCTFail("llama3 rope scaling not read") }
        })
    }
    func testGemma2() throws {
        try check("gemma2", expect: {
            XCTAssertEqual($0.layers.map(\.window), [10, nil, 10])
            XCTAssertEqual($0.attentionSoftCap, 50)
            XCTAssertEqual($0.finalLogitSoftCap, 30)
        })
    }
    func testGemma3() throws {
        try check("gemma3", expect: {
            XCTAssertEqual($0.layers.map(\.window), [10, 10, 10, 10, 10, nil])
            XCTAssertEqual($0.layers.map(\.ropeTheta), [10000, 10000, 10000, 10000, 10000, 1_000_000])
        })
    }
    func testMixtral() throws {
        try check("mixtral-moe", expect: { XCTAssertEqual($0.experts, MixtureOfExperts(expertCount: 4, expertsPerToken: 2)) })
    }

    /// Loads `family`'s fixture at fp32, checks what its config must have read (`expect`), and runs every case.
    private func check(_ family: String, expect: (ModelConfig) -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.archFixtureDirectory(family))
        expect(checkpoint.config)
        let model = try DecoderModel(checkpoint: checkpoint, precision: .fp32)
        let cases = try SharedData.archFixtureCases(family)
        for (index, goldenCase) in cases.enumerated() {
            for (chunk, blockSize) in [(Int.max, 16), (3, 4)] {
                try checkCase(goldenCase, model: model, chunk: chunk, blockSize: blockSize,
                              label: "\(family) case \(index), chunks of \(chunk == .max ? "all" : String(chunk))", file: file, line: line)
            }
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-fixture-gguf-\(getpid())-\(family)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("\(family).gguf").path
        try FixtureGGUFConverter.convert(directory: SharedData.archFixtureDirectory(family), to: path)
        let gguf = try ModelCheckpoint(path: path)
        XCTAssertEqual(gguf.config.layers.map(\.window), family == "mistral-sliding-window" ? [nil, nil, nil] : checkpoint.config.layers.map(\.window),
                       "\(family) GGUF windows", file: file, line: line)
        let window = checkpoint.config.layers.compactMap(\.window).min()
        let ggufModel = try DecoderModel(checkpoint: gguf, precision: .fp32)
        for (index, goldenCase) in cases.enumerated() {
            let prompt = goldenCase.tokenIDs("prompt_token_ids"), expected = goldenCase.tokenIDs("continuation_token_ids")
            let steps = family == "mistral-sliding-window" ? max(0, min(expected.count, window! - prompt.count + 1)) : expected.count
            guard steps > 0 else { continue }
            let run = try GreedyRun(model: ggufModel, prompt: prompt, count: steps)
            XCTAssertEqual(run.tokens, Array(expected.prefix(steps)), "\(family) GGUF case \(index)", file: file, line: line)
        }
    }

    private func checkCase(_ goldenCase: [String: Any], model: DecoderModel, chunk: Int, blockSize: Int, label: String,
                           file: StaticString, line: UInt) throws {
        let expected = goldenCase.tokenIDs("continuation_token_ids")
        let run = try GreedyRun(model: model, prompt: goldenCase.tokenIDs("prompt_token_ids"), count: expected.count,
                                chunk: chunk, blockSize: blockSize)
        XCTAssertEqual(run.tokens, expected, "\(label): greedy tokens", file: file, line: line)
        for top in goldenCase["top5_first_positions"] as! [[String: Any]] {
            let position = (top["position"] as! NSNumber).intValue
            for (tokenID, value) in zip(top.tokenIDs("ids"), (top["logits"] as! [NSNumber]).map(\.floatValue)) {
                XCTAssertEqual(run.stepLogits[position][Int(tokenID)], value, accuracy: 1e-3,
                               "\(label): logit of token \(tokenID) at step \(position)", file: file, line: line)
            }
        }
    }
}
