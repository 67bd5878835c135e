import XCTest
import Foundation
import Kernels
import ModelFormats
import TestSupport
import Tokenizers
@testable import EngineWorker

/// Quantised weights on real models: `--dtype auto` keeps SmolLM2's Q4_1/Q8_0 GGUF tensors as they are (memory
/// about the file's, perplexity within 1% of the exact fp32 path), and `q8_0` / `q4_0` quantise a float checkpoint
/// at load. Perplexities are printed so that they can be reported (docs/perplexity.md).
final class QuantizedWeightTests: XCTestCase {
    private func perplexity(_ model: DecoderModel, _ text: String, _ checkpoint: ModelCheckpoint) throws -> Double {
        let tokens = try Tokenizer.load(checkpoint: checkpoint).encode(text)
        let context = PerplexityEvaluator.defaultContext(tokenCount: tokens.count, config: model.config)
        return try PerplexityEvaluator(model: model, context: context, configuration: EngineConfiguration(kvCacheBytes: 0))
            .evaluate(tokens).perplexity
    }

    func testAutoKeepsTheGGUFEncodingWithinOnePercentOfFP32() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.smolLMGGUF)
        let auto = try DecoderModel(checkpoint: checkpoint, precision: .auto)
        // The tensors' own bytes: what the weights may hold (the file adds its header and tokenizer).
        let gguf = try GGUFFile(path: SharedData.smolLMGGUF)
        let tensorBytes = gguf.tensors.values.reduce(0) { $0 + $1.bytes.count }
        print("auto weights \(auto.weightBytes) bytes for \(tensorBytes) bytes of tensors (file \(checkpoint.fileBytes))")
        XCTAssertLessThanOrEqual(Double(auto.weightBytes), 1.1 * Double(tensorBytes))
        let text = try Fixtures.perplexityText()
        let pAuto = try perplexity(auto, text, checkpoint)
        let p32 = try perplexity(try DecoderModel(checkpoint: checkpoint, precision: .fp32), text, checkpoint)
        print(String(format: "SmolLM2 perplexity: fp32 %.4f, auto %.4f (%+.2f%%)", p32, pAuto, 100 * (pAuto / p32 - 1)))
        XCTAssertLessThanOrEqual(abs(pAuto / p32 - 1), 0.01, "auto \(pAuto) vs fp32 \(p32)")
    }

    func testQuantizingAFloatCheckpointAtLoad() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.storiesDirectory)
        let text = try Fixtures.perplexityText()
        let fp32 = try DecoderModel(checkpoint: checkpoint, precision: .fp32)
        let q8 = try DecoderModel(checkpoint: checkpoint, precision: .q8_0)
        let q4 = try DecoderModel(checkpoint: checkpoint, precision: .q4_0)
        XCTAssertLessThan(q8.weightBytes, fp32.weightBytes / 2)
        XCTAssertLessThan(q4.weightBytes, q8.weightBytes)
        let p32 = try perplexity(fp32, text, checkpoint), p8 = try perplexity(q8, text, checkpoint)
        let p4 = try perplexity(q4, text, checkpoint)
        print(String(format: "stories260K perplexity: fp32 %.4f, q8_0 %.4f (%+.2f%%), q4_0 %.4f (%+.2f%%)",
                     p32, p8, 100 * (p8 / p32 - 1), p4, 100 * (p4 / p32 - 1)))
        XCTAssertLessThanOrEqual(abs(p8 / p32 - 1), 0.01, "q8_0 \(p8) vs fp32 \(p32)")
        // Q4_0 on a 260K-parameter model costs more; it must still be a working model, not noise.
        XCTAssertLessThanOrEqual(abs(p4 / p32 - 1), 0.25, "q4_0 \(p4) vs fp32 \(p32)")
    }
}
