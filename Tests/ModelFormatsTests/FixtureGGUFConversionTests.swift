import Foundation
import XCTest
import TestSupport
import ModelFormats

/// `FixtureGGUFConverter` on every architecture fixture: the file parses as GGUF, with llama.cpp's architecture name,
/// tensor names and shapes, hyperparameter keys, and the converter's changes to the weights (Q/K permutation, Gemma's
/// norm +1, stacked experts, llama3 RoPE factors), checked against the safetensors values.
final class FixtureGGUFConversionTests: XCTestCase {
    /// Every fixture: hidden 64, MLP 160, vocabulary 512, 4 query and 2 KV heads of 16 (Qwen3: 24).
    static let families: [String: (architecture: String, layers: Int, global: [String: [Int]], layer: [String: [Int]])] = {
        let attention = ["attn_norm": [64], "attn_q": [64, 64], "attn_k": [32, 64], "attn_v": [32, 64], "attn_output": [64, 64]]
        let mlp = ["ffn_norm": [64], "ffn_gate": [160, 64], "ffn_up": [160, 64], "ffn_down": [64, 160]]
        let llama = attention.merging(mlp) { a, _ in a }
        let gemma2 = llama.merging(["post_attention_norm": [64], "post_ffw_norm": [64]]) { a, _ in a }
        let embedding = ["token_embd": [512, 64], "output_norm": [64]]
        let untied = embedding.merging(["output": [512, 64]]) { a, _ in a }
        return [
            "qwen2": ("qwen2", 3, embedding, llama.merging(["attn_q.bias": [64], "attn_k.bias": [32], "attn_v.bias": [32]]) { a, _ in a }),
            "qwen3": ("qwen3", 3, embedding, mlp.merging(["attn_norm": [64], "attn_q": [96, 64], "attn_k": [48, 64], "attn_v": [48, 64],
                                                          "attn_output": [64, 96], "attn_q_norm": [24], "attn_k_norm": [24]]) { a, _ in a }),
            "mistral-sliding-window": ("llama", 3, untied, llama),
            "phi3": ("phi3", 3, untied, ["attn_norm": [64], "attn_qkv": [128, 64], "attn_output": [64, 64], "ffn_norm": [64],
                                         "ffn_up": [320, 64], "ffn_down": [64, 160]]),
            "llama3-rope": ("llama", 3, embedding.merging(["rope_freqs": [8]]) { a, _ in a }, llama),
            "gemma2": ("gemma2", 3, embedding, gemma2),
            "gemma3": ("gemma3", 6, embedding, gemma2.merging(["attn_q_norm": [16], "attn_k_norm": [16]]) { a, _ in a }),
            "mixtral-moe": ("llama", 3, untied, attention.merging(["ffn_norm": [64], "ffn_gate_inp": [4, 64], "ffn_gate_exps": [4, 160, 64],
                                                                   "ffn_up_exps": [4, 160, 64], "ffn_down_exps": [4, 64, 160]]) { a, _ in a }),
        ]
    }()

    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-fixture-gguf-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func convert(_ family: String, _ outputType: FixtureGGUFConverter.OutputType = .f32) throws -> GGUFFile {
        let path = "\(directory!)/\(family)-\(outputType).gguf"
        try FixtureGGUFConverter.convert(directory: SharedData.archFixtureDirectory(family), to: path, outputType: outputType)
        return try GGUFFile(path: path)
    }

    private func values(_ tensor: TensorData?, file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        let tensor = try XCTUnwrap(tensor, file: file, line: line)
        var out = [Float](repeating: .nan, count: tensor.elementCount)
        out.withUnsafeMutableBufferPointer { tensor.decode(into: $0.baseAddress!) }
        return out
    }

    private func safetensors(_ family: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: SharedData.archFixtureDirectory(family) + "/model.safetensors")
    }

    func testEveryFamilyHasLlamaCppNamesAndShapes() throws {
        XCTAssertEqual(Set(Self.families.keys), Set(SharedData.archFixtureFamilies))
        for (family, expected) in Self.families {
            let gguf = try convert(family)
            let arch = expected.architecture
            XCTAssertEqual(gguf.metadata["general.architecture"]?.string, arch, family)
            XCTAssertEqual(gguf.metadata["\(arch).block_count"]?.int, expected.layers, family)
            XCTAssertEqual(gguf.metadata["\(arch).embedding_length"]?.int, 64, family)
            XCTAssertEqual(gguf.metadata["\(arch).attention.head_count_kv"]?.int, 2, family)
            XCTAssertEqual(gguf.metadata["tokenizer.ggml.model"]?.string, "llama", family)
            XCTAssertEqual(gguf.metadata["tokenizer.ggml.tokens"]?.array?.count, 512, family)
            XCTAssertEqual(gguf.metadata["tokenizer.ggml.bos_token_id"]?.int, 1, family)

            var shapes = expected.global.reduce(into: [String: [Int]]()) { $0["\($1.key).weight"] = $1.value }
            for layer in 0..<expected.layers {
                for (name, shape) in expected.layer {
                    shapes["blk.\(layer).\(name)\(name.hasSuffix(".bias") ? "" : ".weight")"] = shape
                }
            }
            XCTAssertEqual(Set(gguf.tensorNames), Set(shapes.keys), family)
            for (name, shape) in shapes { XCTAssertEqual(gguf.tensors[name]?.shape, shape, "\(family) \(name)") }
            XCTAssertTrue(gguf.tensors.values.allSatisfy { $0.type == .f32 }, family)
        }
    }

    func testHyperparametersTheConverterWrites() throws {
        let gemma2 = try convert("gemma2").metadata
        XCTAssertEqual(gemma2["gemma2.attn_logit_softcapping"]?.double, 50)
        XCTAssertEqual(gemma2["gemma2.final_logit_softcapping"]?.double, 30)
        XCTAssertEqual(gemma2["gemma2.attention.sliding_window"]?.int, 10)
        XCTAssertNil(gemma2["gemma2.rope.freq_base"])
        let gemma3 = try convert("gemma3").metadata
        XCTAssertEqual(gemma3["gemma3.attention.sliding_window"]?.int, 10)
        XCTAssertEqual(gemma3["gemma3.rope.freq_base"]?.double, 1_000_000)
        XCTAssertEqual(gemma3["gemma3.rope.freq_base_swa"]?.double, 10000)
        XCTAssertNil(gemma3["gemma3.final_logit_softcapping"])
        let qwen3 = try convert("qwen3").metadata
        XCTAssertEqual(qwen3["qwen3.attention.key_length"]?.int, 24)
        XCTAssertEqual(qwen3["qwen3.attention.value_length"]?.int, 24)
        XCTAssertNil(try convert("qwen2").metadata["qwen2.attention.key_length"])
        let phi3 = try convert("phi3").metadata
        XCTAssertEqual(phi3["phi3.rope.scaling.original_context_length"]?.int, 2048)
        XCTAssertEqual(phi3["phi3.attention.sliding_window"]?.int, 0)
        XCTAssertEqual(phi3["phi3.rope.dimension_count"]?.int, 16)
        let mixtral = try convert("mixtral-moe").metadata
        XCTAssertEqual(mixtral["llama.expert_count"]?.int, 4)
        XCTAssertEqual(mixtral["llama.expert_used_count"]?.int, 2)
        XCTAssertEqual(mixtral["llama.rope.freq_base"]?.double, 1_000_000)
        // The converter drops Mistral's sliding window: the llama architecture has none.
        let mistral = try convert("mistral-sliding-window").metadata
        XCTAssertNil(mistral["llama.attention.sliding_window"])
        XCTAssertEqual(mistral["llama.vocab_size"]?.int, 512)
        XCTAssertEqual(mistral["llama.rope.dimension_count"]?.int, 16)
    }

    /// GGUF row 2j + i of each head holds HuggingFace row i·8 + j (head size 16), for Q (4 heads) and K (2 heads).
    func testLlamaQueryAndKeyRowsArePermutedPerHead() throws {
        let gguf = try convert("llama3-rope"), hf = try safetensors("llama3-rope")
        for (module, name, rows) in [("q_proj", "attn_q", 64), ("k_proj", "attn_k", 32)] {
            let stored = try values(gguf.tensors["blk.1.\(name).weight"]), original = try values(hf.tensors["model.layers.1.self_attn.\(module).weight"])
            for row in 0..<rows {
                let head = row / 16, j = (row % 16) / 2, i = row % 2
                let hfRow = head * 16 + i * 8 + j
                XCTAssertEqual(Array(stored[(row * 64)..<((row + 1) * 64)]), Array(original[(hfRow * 64)..<((hfRow + 1) * 64)]), "\(name) row \(row)")
            }
        }
        // Not permuted outside the llama architecture.
        XCTAssertEqual(try values(try convert("qwen2").tensors["blk.0.attn_q.weight"]),
                       try values(try safetensors("qwen2").tensors["model.layers.0.self_attn.q_proj.weight"]))
    }

    func testGemmaNormsHaveOneAdded() throws {
        for family in ["gemma2", "gemma3"] {
            let gguf = try convert(family), hf = try safetensors(family)
            var pairs = [("output_norm.weight", "model.norm.weight"), ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
                         ("blk.0.post_attention_norm.weight", "model.layers.0.post_attention_layernorm.weight"),
                         ("blk.0.ffn_norm.weight", "model.layers.0.pre_feedforward_layernorm.weight"),
                         ("blk.0.post_ffw_norm.weight", "model.layers.0.post_feedforward_layernorm.weight")]
            if family == "gemma3" {
                pairs += [("blk.0.attn_q_norm.weight", "model.layers.0.self_attn.q_norm.weight"),
                          ("blk.0.attn_k_norm.weight", "model.layers.0.self_attn.k_norm.weight")]
            }
            for (ggufName, hfName) in pairs {
                XCTAssertEqual(try values(gguf.tensors[ggufName]), try values(hf.tensors[hfName]).map { $0 + 1 }, "\(family) \(ggufName)")
            }
            XCTAssertEqual(try values(gguf.tensors["blk.0.ffn_gate.weight"]), try values(hf.tensors["model.layers.0.mlp.gate_proj.weight"]))
        }
    }

    /// Expert e of layer l is slice e of the layer's [experts, rows, columns] tensor.
    func testMixtralExpertsAreStacked() throws {
        let gguf = try convert("mixtral-moe"), hf = try safetensors("mixtral-moe")
        for (name, w) in [("ffn_gate_exps", "w1"), ("ffn_down_exps", "w2"), ("ffn_up_exps", "w3")] {
            let stacked = try values(gguf.tensors["blk.2.\(name).weight"])
            for expert in 0..<4 {
                let slice = Array(stacked[(expert * 160 * 64)..<((expert + 1) * 160 * 64)])
                XCTAssertEqual(slice, try values(hf.tensors["model.layers.2.block_sparse_moe.experts.\(expert).\(w).weight"]), "\(name) expert \(expert)")
            }
        }
        XCTAssertEqual(try values(gguf.tensors["blk.2.ffn_gate_inp.weight"]), try values(hf.tensors["model.layers.2.block_sparse_moe.gate.weight"]))
    }

    /// rope_theta 500000, head size 16, factor 8, low/high frequency factors 1 and 4, original context 64: pair 0
    /// (wavelength 2π) is kept, pair 1 (wavelength 2π·500000^(1/8) ≈ 32.3) is blended, the rest are divided by 8.
    func testLlama3RopeFactors() throws {
        let factors = try values(try convert("llama3-rope").tensors["rope_freqs.weight"])
        let wavelength = 2 * Double.pi * pow(500000, 2.0 / 16), smooth = (64 / wavelength - 1) / 3
        let blended = 1 / ((1 - smooth) / 8 + smooth)
        XCTAssertEqual(factors.count, 8)
        XCTAssertEqual(factors[0], 1)
        XCTAssertEqual(Double(factors[1]), blended, accuracy: 1e-5)
        XCTAssertEqual(Array(factors[2...]), [Float](repeating: 8, count: 6))
    }

    /// `--outtype bf16`: matrices BF16, norms and the router F32, the same values as the F32 file.
    func testBF16OutputKeepsNormsAndRouterInF32() throws {
        let bf16 = try convert("mixtral-moe", .bf16), f32 = try convert("mixtral-moe")
        XCTAssertEqual(bf16.metadata["general.file_type"]?.int, 32)
        for name in bf16.tensorNames {
            let tensor = try XCTUnwrap(bf16.tensors[name])
            let keptF32 = name.hasSuffix("norm.weight") || name.hasSuffix("ffn_gate_inp.weight")
            XCTAssertEqual(tensor.type, keptF32 ? .f32 : .bf16, name)
            XCTAssertEqual(try values(tensor), try values(f32.tensors[name]), name)
        }
    }
}
