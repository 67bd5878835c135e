import XCTest
import TestSupport
@testable import ModelFormats

/// The real models from ../shared: the SmolLM2 Q4_1 GGUF and the stories260K HuggingFace directory.
final class RealModelTests: XCTestCase {
    func testGGUFHeaderAndMetadata() throws {
        let gguf = try GGUFFile(path: SharedData.smolLMGGUF)
        XCTAssertEqual(gguf.version, 3)
        XCTAssertEqual(gguf.tensors.count, 272)
        XCTAssertEqual(gguf.tensorNames.count, 272)
        XCTAssertEqual(Set(gguf.tensorNames), Set(gguf.tensors.keys))
        XCTAssertEqual(gguf.metadata["general.architecture"]?.string, "llama")
        XCTAssertEqual(gguf.metadata["llama.block_count"]?.int, 30)
        XCTAssertEqual(gguf.metadata["tokenizer.ggml.tokens"]?.array?.count, 49152)
        XCTAssertEqual(gguf.file.path, SharedData.smolLMGGUF)
        let query = try XCTUnwrap(gguf.tensors["blk.0.attn_q.weight"])
        XCTAssertEqual(query.shape, [576, 576])
        XCTAssertNil(gguf.tensors["output.weight"], "SmolLM2 ties its output to the embedding")
    }

    func testModelConfigFromGGUF() throws {
        let config = try ModelConfig(gguf: GGUFFile(path: SharedData.smolLMGGUF))
        XCTAssertEqual(config.hiddenSize, 576)
        XCTAssertEqual(config.layerCount, 30)
        XCTAssertEqual(config.headCount, 9)
        XCTAssertEqual(config.kvHeadCount, 3)
        XCTAssertEqual(config.headDim, 64)
        XCTAssertEqual(config.intermediateSize, 1536)
        XCTAssertEqual(config.vocabSize, 49152)
        XCTAssertEqual(config.family, .llama)
        XCTAssertEqual(config.layers, Array(repeating: LayerAttention(window: nil, ropeTheta: 100000, ropeScaling: .none), count: 30))
        XCTAssertTrue(config.tieWordEmbeddings)
        XCTAssertEqual(config.bosTokenID, 1)
        XCTAssertEqual(config.eosTokenIDs, [2])
    }

    func testModelConfigFromStoriesDirectory() throws {
        let config = try ModelConfig(huggingFaceDirectory: SharedData.storiesDirectory)
        XCTAssertEqual(config.hiddenSize, 64)
        XCTAssertEqual(config.layerCount, 5)
        XCTAssertEqual(config.headCount, 8)
        XCTAssertEqual(config.kvHeadCount, 4)
        XCTAssertEqual(config.headDim, 8)
        XCTAssertEqual(config.intermediateSize, 172)
        XCTAssertEqual(config.vocabSize, 512)
        XCTAssertEqual(config.maxPositionEmbeddings, 512)
        XCTAssertTrue(config.tieWordEmbeddings)
        XCTAssertEqual(config.layers, Array(repeating: LayerAttention(window: nil, ropeTheta: 10000, ropeScaling: .none), count: 5))
        XCTAssertEqual(config.rmsNormEps, 1e-5)
        XCTAssertEqual(config.bosTokenID, 1)
        XCTAssertEqual(config.eosTokenIDs, [2])
        let checkpoint = try ModelCheckpoint(path: SharedData.storiesDirectory)
        XCTAssertEqual(checkpoint.config, config)
        XCTAssertEqual(checkpoint.modelID, "stories260K")
        XCTAssertEqual(checkpoint.requiredWeights.count, 2 + 5 * 9)
    }

    /// Row-sliced decoding of a GGUF query weight (which undoes llama.cpp's RoPE row permutation head by head)
    /// equals the same rows of the full decode.
    func testGGUFRowSlicedDecodeMatchesFullDecode() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.smolLMGGUF)
        XCTAssertEqual(checkpoint.modelID, "SmolLM2-135M-Instruct.Q4_1")
        for weight in [WeightName.query(layer: 0), .key(layer: 0), .value(layer: 3)] {
            let shape = checkpoint.expectedShape(weight)
            let columns = shape[1]
            let full = try checkpoint.float32(weight)
            XCTAssertEqual(full.count, shape[0] * columns)
            var slice = [Float](repeating: .nan, count: 64 * columns)
            try slice.withUnsafeMutableBufferPointer { (p) throws(ModelFormatError) in
                try checkpoint.decode(weight, rows: 64..<128, into: p.baseAddress!)
            }
            XCTAssertEqual(slice, Array(full[(64 * columns)..<(128 * columns)]), "\(weight)")
        }
        // The permutation really is applied: HuggingFace row i·32 + j of a head is GGUF row 2j + i.
        let raw = try checkpoint.tensor(.query(layer: 0))
        var stored = [Float](repeating: 0, count: raw.elementCount)
        raw.decode(into: &stored)
        let full = try checkpoint.float32(.query(layer: 0))
        let columns = 576
        for (hfRow, ggufRow) in [(64 + 1, 64 + 2), (64 + 32, 64 + 1), (64 + 33, 64 + 3), (0, 0)] {
            XCTAssertEqual(Array(full[(hfRow * columns)..<((hfRow + 1) * columns)]),
                           Array(stored[(ggufRow * columns)..<((ggufRow + 1) * columns)]), "HF row \(hfRow)")
        }
    }
}
