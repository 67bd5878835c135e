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
/// 4-token blocks (windows that start inside a block, blocks a sliding layer no longer reads).
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
        let checkpoint = try ModelCheckpoint(path: SharedData.architectureFixture(family))
        expect(checkpoint.config)
        let model = try DecoderModel(checkpoint: checkpoint, precision: .fp32)
        for (index, goldenCase) in try SharedData.architectureFixtureCases(family).enumerated() {
            for (chunk, blockSize) in [(Int.max, 16), (3, 4)] {
                try checkCase(goldenCase, model: model, chunk: chunk, blockSize: blockSize,
                              label: "\(family) case \(index), chunks of \(chunk == .max ? "all" : String(chunk))", file: file, line: line)
            }
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
