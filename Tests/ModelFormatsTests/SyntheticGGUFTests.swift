import Foundation
import XCTest
import TestSupport
@testable import ModelFormats

/// A tiny GGUF written by the test (one layer, hidden 32, 2 query heads and 1 KV head of 16): parsing, exact
/// decoding of F32/F16/Q8_0 tensors, the Q/K row permutation, and each structural error.
final class SyntheticGGUFTests: XCTestCase {
    static let hidden = 32, headDim = 16, heads = 2, kvHeads = 1, intermediate = 64, vocab = 40

    static func f32Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// F16 bytes of small integers (exact in fp16).
    static func f16Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { Array($0) } }
    }

    /// Q8_0 with scale 1.0 (fp16 0x3C00): values must be integers in -128...127.
    static func q8Bytes(_ values: [Float]) -> [UInt8] {
        precondition(values.count % 32 == 0)
        var out: [UInt8] = []
        for b in 0..<(values.count / 32) {
            out += [0x00, 0x3C]
            out += values[(b * 32)..<((b + 1) * 32)].map { UInt8(bitPattern: Int8($0)) }
        }
        return out
    }

    /// Distinct, exactly representable values for a tensor: element i of tensor `seed` is ((i·7 + seed) mod 61) - 30.
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(($0 * 7 + seed) % 61 - 30) }
    }

    /// The weights in HuggingFace layout (before the GGUF Q/K permutation) by GGUF tensor name.
    static func modelWeights(hidden h: Int = hidden) -> [(name: String, shape: [Int], values: [Float])] {
        let headDim = h / heads, kv = kvHeads * headDim, q = heads * headDim
        return [
            ("token_embd.weight", [vocab, h], values(vocab * h, seed: 1)),
            ("output_norm.weight", [h], values(h, seed: 2)),
            ("blk.0.attn_norm.weight", [h], values(h, seed: 3)),
            ("blk.0.attn_q.weight", [q, h], values(q * h, seed: 4)),
            ("blk.0.attn_k.weight", [kv, h], values(kv * h, seed: 5)),
            ("blk.0.attn_v.weight", [kv, h], values(kv * h, seed: 6)),
            ("blk.0.attn_output.weight", [h, q], values(h * q, seed: 7)),
            ("blk.0.ffn_norm.weight", [h], values(h, seed: 8)),
            ("blk.0.ffn_gate.weight", [intermediate, h], values(intermediate * h, seed: 9)),
            ("blk.0.ffn_up.weight", [intermediate, h], values(intermediate * h, seed: 10)),
            ("blk.0.ffn_down.weight", [h, intermediate], values(h * intermediate, seed: 11)),
        ]
    }

    static func writer(hidden: Int = hidden) -> GGUFWriter {
        var w = GGUFWriter()
        w.metadata = [
            ("general.architecture", .string("llama")),
            ("general.name", .string("synthetic")),
            ("llama.block_count", .u32(1)),
            ("llama.embedding_length", .u32(UInt32(hidden))),
            ("llama.attention.head_count", .u32(UInt32(heads))),
            ("llama.attention.head_count_kv", .u32(UInt32(kvHeads))),
            ("llama.feed_forward_length", .u32(UInt32(intermediate))),
            ("llama.context_length", .u32(256)),
            ("llama.rope.freq_base", .f32(500000)),
            ("llama.attention.layer_norm_rms_epsilon", .f32(1e-6)),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.tokens", .strings((0..<vocab).map { "t\($0)" })),
            ("tokenizer.ggml.bos_token_id", .u32(1)),
            ("tokenizer.ggml.eos_token_id", .u32(2)),
        ]
        for (name, shape, values) in modelWeights(hidden: hidden) {
            var stored = values
            if name.hasSuffix("attn_q.weight") { stored = GGUFQKPermutation.permute(values, rows: shape[0], columns: shape[1], headCount: heads) }
            if name.hasSuffix("attn_k.weight") { stored = GGUFQKPermutation.permute(values, rows: shape[0], columns: shape[1], headCount: kvHeads) }
            // Norms in F32, the embedding and MLP in Q8_0, attention in F16.
            let (type, data): (UInt32, [UInt8]) = shape.count == 1 ? (0, f32Bytes(stored))
                : name.contains("attn") ? (1, f16Bytes(stored)) : (8, q8Bytes(stored))
            w.tensors.append(.init(name: name, shape: shape, ggmlType: type, data: data))
        }
        return w
    }

    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-gguf-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ bytes: [UInt8], name: String = "model.gguf") throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func openError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> ModelFormatError? {
        let path = try write(bytes)
        do {
            _ = try ModelCheckpoint(path: path)
            XCTFail("opened without error", file: file, line: line)
            return nil
        } catch {
            XCTAssertTrue(error.description.contains(path), "'\(error.description)' does not name \(path)", file: file, line: line)
            return error
        }
    }

    func testSyntheticModelLoadsAndDecodesExactly() throws {
        for version: UInt32 in [2, 3] {
            var w = Self.writer()
            w.version = version
            let path = try write(w.bytes())
            let checkpoint = try ModelCheckpoint(path: path)
            let c = checkpoint.config
            XCTAssertEqual([c.hiddenSize, c.layerCount, c.headCount, c.kvHeadCount, c.headDim, c.intermediateSize, c.vocabSize,
                            c.maxPositionEmbeddings], [32, 1, 2, 1, 16, 64, 40, 256])
            XCTAssertEqual(c.layers, [LayerAttention(window: nil, ropeTheta: 500000, ropeScaling: .none)])
            XCTAssertEqual(c.rmsNormEps, 1e-6)
            XCTAssertTrue(c.tieWordEmbeddings)
            XCTAssertEqual(c.bosTokenID, 1)
            XCTAssertEqual(c.eosTokenIDs, [2])
            guard case .gguf(let gguf) = checkpoint.format else { return XCTFail("not read as GGUF") }
            XCTAssertEqual(gguf.version, version)
            XCTAssertEqual(gguf.metadata["tokenizer.ggml.add_bos_token"], .bool(true))
            XCTAssertEqual(gguf.metadata["general.name"]?.string, "synthetic")
            XCTAssertEqual(gguf.tensorNames, Self.modelWeights().map(\.name))

            // Every weight decodes to exactly the HuggingFace-layout values (Q and K un-permuted).
            let byName = Dictionary(uniqueKeysWithValues: Self.modelWeights().map { ($0.name, $0.values) })
            for weight in checkpoint.requiredWeights {
                let name = checkpoint.location(weight).tensor
                XCTAssertEqual(try checkpoint.float32(weight), byName[name], "\(name) (version \(version))")
            }
            // A row slice of whole heads of Q: head 1 only.
            var slice = [Float](repeating: .nan, count: 16 * 32)
            try slice.withUnsafeMutableBufferPointer { (p) throws(ModelFormatError) in
                try checkpoint.decode(.query(layer: 0), rows: 16..<32, into: p.baseAddress!)
            }
            XCTAssertEqual(slice, Array(byName["blk.0.attn_q.weight"]![(16 * 32)..<(32 * 32)]))
        }
    }

    func testUnsupportedGGMLType() throws {
        var w = Self.writer()
        w.tensors[9].ggmlType = 16   // IQ2_XXS: not read
        XCTAssertEqual(try openError(w.bytes()),
                       .unsupportedTensorType(path: directory + "/model.gguf", tensor: "blk.0.ffn_up.weight", type: "ggml type 16"))
    }

    func testTruncatedTensorData() throws {
        let bytes = Self.writer().bytes()
        XCTAssertEqual(try openError(Array(bytes.dropLast(100))),
                       .truncatedTensor(path: directory + "/model.gguf", tensor: "blk.0.ffn_down.weight"))
    }

    func testOtherArchitecture() throws {
        var w = Self.writer()
        w.metadata[0].1 = .string("mistral")
        XCTAssertEqual(try openError(w.bytes()), .unsupportedArchitecture(path: directory + "/model.gguf", architecture: "mistral"))
    }

    func testMissingTensor() throws {
        var w = Self.writer()
        w.tensors.remove(at: 9)
        XCTAssertEqual(try openError(w.bytes()), .missingTensor(path: directory + "/model.gguf", tensor: "blk.0.ffn_up.weight"))
    }

    func testTensorWithWrongShape() throws {
        var w = Self.writer()
        w.tensors[4].shape = [32, 16]   // attn_k is [16, 32]
        XCTAssertEqual(try openError(w.bytes()),
                       .tensorShapeMismatch(path: directory + "/model.gguf", tensor: "blk.0.attn_k.weight", expected: [16, 32], found: [32, 16]))
    }

    func testQuantisedRowNotWholeBlocks() throws {
        var w = Self.writer()
        w.tensors[8].shape = [51, 40]   // 2040 elements: not a whole number of 32-element Q8_0 blocks
        guard case .corruptHeader? = try openError(w.bytes()) else { return XCTFail() }
    }

    /// BOS/EOS ids that do not fit in Int32 (llama.cpp's UINT32_MAX "none", a 64-bit value) are configuration errors.
    func testTokenIDsOutsideInt32() throws {
        for (key, value) in [("tokenizer.ggml.bos_token_id", GGUFWriter.Value.u32(UInt32.max)),
                             ("tokenizer.ggml.eos_token_id", .raw(type: 10, bytes: GGUFWriter.u64(1 << 40)))] {
            var w = Self.writer()
            let index = try XCTUnwrap(w.metadata.firstIndex { $0.0 == key })
            w.metadata[index].1 = value
            guard case .invalidConfig(_, let reason)? = try openError(w.bytes()) else { return XCTFail(key) }
            XCTAssertTrue(reason.contains(key), reason)
        }
    }

    func testMissingRequiredMetadata() throws {
        var w = Self.writer()
        w.metadata.removeAll { $0.0 == "llama.block_count" }
        guard case .invalidConfig(_, let reason)? = try openError(w.bytes()) else { return XCTFail() }
        XCTAssertTrue(reason.contains("llama.block_count"), reason)
    }

    func testStructuralCorruption() throws {
        // Unknown metadata value type.
        var w = Self.writer()
        w.metadata.append(("x.unknown", .raw(type: 13, bytes: [0, 0, 0, 0])))
        guard case .corruptHeader? = try openError(w.bytes()) else { return XCTFail("unknown value type") }

        // Arrays nested deeper than 4 levels.
        // Array payloads (element type, count, elements): one string "a", wrapped in 5 arrays of one array each.
        let one: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]
        var nested: [UInt8] = [8, 0, 0, 0] + one + one + [0x61]
        for _ in 0..<5 { nested = [9, 0, 0, 0] + one + nested }
        w = Self.writer()
        w.metadata.append(("x.nested", .raw(type: 9, bytes: nested)))
        guard case .corruptHeader? = try openError(w.bytes()) else { return XCTFail("nested arrays") }

        // More than 4 dimensions.
        w = Self.writer()
        w.tensors[1].shape = [1, 1, 1, 1, 32]
        guard case .corruptHeader? = try openError(w.bytes()) else { return XCTFail("5 dimensions") }

        // An alignment that is not a multiple of 8.
        w = Self.writer()
        w.metadata.append(("general.alignment", .u32(7)))
        guard case .corruptHeader? = try openError(w.bytes()) else { return XCTFail("alignment") }

        // An alignment so large that rounding the data offset up to it would overflow, and one beyond Int64.
        for alignment in [UInt64(Int.max) - 7, UInt64.max] {
            w = Self.writer()
            w.metadata.append(("general.alignment", .raw(type: 10, bytes: GGUFWriter.u64(alignment))))
            guard case .corruptHeader(_, let reason)? = try openError(w.bytes()) else { return XCTFail("alignment \(alignment)") }
            XCTAssertTrue(reason.contains("general.alignment"), reason)
        }

        // An array claiming 2^26 strings in a file of a few kilobytes: an error, without reserving room for them.
        w = Self.writer()
        w.metadata.append(("x.huge", .raw(type: 9, bytes: GGUFWriter.u32(8) + GGUFWriter.u64(1 << 26))))
        guard case .corruptHeader? = try openError(w.bytes()) else { return XCTFail("huge array") }

        // A tensor offset far past the end of the file.
        w = Self.writer()
        var bytes = w.bytes()
        // The last descriptor's offset field is the 8 bytes just before the padding that precedes the data.
        let name = Array("blk.0.ffn_down.weight".utf8)
        let at = try XCTUnwrap((0...(bytes.count - name.count)).last { Array(bytes[$0..<($0 + name.count)]) == name })
        let offsetField = at + name.count + 4 + 2 * 8 + 4
        bytes.replaceSubrange(offsetField..<(offsetField + 8), with: [0, 0, 0, 0, 0, 0, 0, 0x70])
        XCTAssertEqual(try openError(bytes), .truncatedTensor(path: directory + "/model.gguf", tensor: "blk.0.ffn_down.weight"))
    }

    /// ggml requires the row length (innermost dimension) of a quantised tensor to be whole blocks, and llama.cpp
    /// rejects files where it is not. With hidden size 48 the Q8_0 embedding [40, 48] is 60 whole blocks in total
    /// but 1.5 blocks per row, so its rows cannot be decoded on their own: opening must fail with corruptHeader.
    func testQuantisedRowsThatAreNotWholeBlocks() throws {
        // `openError` fails the test if the file opens: a row-sliced decode would then force-unwrap nil in
        // TensorData.decodeRows.
        let error = try openError(Self.writer(hidden: 48).bytes())
        guard case .corruptHeader? = error else { return XCTFail("expected corruptHeader, got \(String(describing: error))") }
    }
}
