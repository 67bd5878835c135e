import Foundation

/// Converts a HuggingFace checkpoint directory — the architecture fixtures in `shared/golden/arch-fixtures/<family>/`,
/// or stories260K — into the GGUF file llama.cpp's `convert_hf_to_gguf.py` would write for it, so that tests can run
/// a family through ScaleLLM's GGUF path against the same golden tokens as its safetensors path, and so that
/// llama.cpp itself can run the file (which checks the conversion).
///
/// What it reproduces: the GGUF architecture (`llama` for Llama, Mistral and Mixtral; `qwen2`, `qwen3`, `phi3`,
/// `gemma2`, `gemma3`), the hyperparameter keys each converter class writes (`LlamaCppArchitecture`), the tensor
/// names, and the converter's changes to the weights:
/// - `llama`: Q and K rows permuted per head for ggml's interleaved RoPE (`GGUFQKPermutation`); Mixtral's experts
///   stacked into `ffn_gate_exps` / `ffn_up_exps` [experts, ffn, hidden] and `ffn_down_exps` [experts, hidden, ffn];
///   `rope_freqs.weight` for llama3 RoPE scaling (`Llama3RopeFactors`).
/// - `gemma2` / `gemma3`: 1 added to every RMSNorm weight (every tensor named `*norm.weight`, q/k norms and the
///   final norm included); `lm_head.weight` dropped (the embedding is the output).
/// - Phi-3: `qkv_proj` and `gate_up_proj` kept fused, as `attn_qkv` and `ffn_up`.
/// - Tied embeddings: no `output.weight`.
/// Like the converter it drops what its architecture cannot express: Mistral's `sliding_window` (the `llama`
/// architecture has none, so llama.cpp attends over the whole context and leaves the fixture's golden tokens once a
/// sequence is longer than the window), Gemma 2/3's `layer_types` (llama.cpp derives them: every 2nd, every 6th
/// layer global) and `query_pre_attn_scalar` (llama.cpp uses the head size; equal here).
///
/// The tokenizer is written as `SentencePieceGGUFVocabulary` describes. Of the `general.*` keys only `architecture`,
/// `type`, `name` (the directory name), `file_type` and `quantization_version` are written. llama.cpp special-cases
/// models whose name contains "phi3" by looking up `<|endoftext|>`, which the fixtures' vocabulary lacks: run the
/// phi3 fixture with `llama-server --override-kv general.name=str:fixture`.
public enum FixtureGGUFConverter {
    /// The converter's `--outtype`: `f32`, or `bf16`, where like the converter 1-D tensors, norms and the MoE router
    /// (`ffn_gate_inp`) stay F32. Either is exact for bf16 checkpoints.
    public enum OutputType: Sendable {
        case f32, bf16
    }

    /// Why a directory could not be converted.
    public struct ConversionError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Writes the GGUF file for the checkpoint in `directory` to `path`.
    public static func convert(directory: String, to path: String, outputType: OutputType = .f32) throws {
        try Data(writer(directory: directory, outputType: outputType).bytes()).write(to: URL(fileURLWithPath: path))
    }

    /// The GGUF file for the checkpoint in `directory`, before serialisation.
    public static func writer(directory: String, outputType: OutputType = .f32) throws -> GGUFWriter {
        let checkpoint = try HFCheckpoint(directory: directory)
        guard let hfArchitecture = (checkpoint.config["architectures"] as? [String])?.first else {
            throw ConversionError("config.json names no architecture")
        }
        let architecture = try LlamaCppArchitecture(huggingFace: hfArchitecture)
        var w = GGUFWriter()
        w.set("general.architecture", .string(architecture.rawValue))
        w.set("general.type", .string("model"))
        w.set("general.name", .string(checkpoint.directory.lastPathComponent))
        try architecture.hyperparameters(checkpoint, fileType: outputType == .f32 ? 0 : 32, into: &w)
        w.set("general.quantization_version", .u32(2))
        for (key, value) in try SentencePieceGGUFVocabulary.metadata(checkpoint) { w.set(key, value) }
        w.tensors = try tensors(checkpoint, architecture, outputType)
        return w
    }

    /// The tensors in the converter's order: generated ones (`rope_freqs`) first, then the checkpoint's by name, each
    /// layer's stacked experts where its last expert tensor is.
    private static func tensors(_ c: HFCheckpoint, _ architecture: LlamaCppArchitecture, _ outputType: OutputType) throws -> [GGUFWriter.Tensor] {
        var out: [GGUFWriter.Tensor] = []
        func append(_ name: String, _ shape: [Int], _ values: [Float]) {
            // As in ModelBase.prepare_tensors: 1-D tensors, norms, biases and the MoE router are always F32.
            let keepF32 = shape.count == 1 || name.hasSuffix("_norm.weight") || !name.hasSuffix(".weight") || name.hasSuffix("ffn_gate_inp.weight")
            let bf16 = outputType == .bf16 && !keepF32
            out.append(.init(name: name, shape: shape, ggmlType: bf16 ? 30 : 0, data: bf16 ? bf16Bytes(values) : f32Bytes(values)))
        }

        let rope = c.config["rope_scaling"] as? [String: Any]
        if architecture == .llama, let rope, (rope["rope_type"] ?? rope["type"]) as? String == "llama3" {
            let headDim = try c.number("head_dim")?.intValue ?? c.int("hidden_size") / c.int("num_attention_heads")
            let factors = Llama3RopeFactors.factors(headDim: headDim, ropeTheta: c.number("rope_theta")?.doubleValue ?? 10000, scaling: rope)
            append("rope_freqs.weight", [factors.count], factors)
        }

        let heads = try c.int("num_attention_heads"), kvHeads = try c.int("num_key_value_heads")
        var experts: [Int: [String: HFCheckpoint.Tensor]] = [:]
        for name in c.tensorNames {
            if architecture.isGemma && name == "lm_head.weight" { continue }
            var tensor = try c.tensor(name)
            // model.layers.L.block_sparse_moe.experts.E.wN.weight
            let parts = name.split(separator: ".")
            if parts.count == 8, parts[3] == "block_sparse_moe", parts[4] == "experts", let layer = Int(parts[2]) {
                let expertCount = try c.int("num_local_experts")
                experts[layer, default: [:]][name] = tensor
                guard experts[layer]!.count == 3 * expertCount else { continue }
                for (hf, gguf) in [("w1", "ffn_gate_exps"), ("w2", "ffn_down_exps"), ("w3", "ffn_up_exps")] {
                    let stack = try (0..<expertCount).map { e in
                        guard let t = experts[layer]!["model.layers.\(layer).block_sparse_moe.experts.\(e).\(hf).weight"] else {
                            throw ConversionError("layer \(layer) lacks expert \(e)'s \(hf)")
                        }
                        return t
                    }
                    append("blk.\(layer).\(gguf).weight", [expertCount] + stack[0].shape, stack.flatMap(\.values))
                }
                experts[layer] = nil
                continue
            }
            let ggufName = try architecture.tensorName(name)
            if architecture == .llama && (name.hasSuffix("q_proj.weight") || name.hasSuffix("q_proj.bias")
                                          || name.hasSuffix("k_proj.weight") || name.hasSuffix("k_proj.bias")) {
                tensor.values = GGUFQKPermutation.permute(tensor.values, rows: tensor.shape[0], columns: tensor.shape.dropFirst().reduce(1, *),
                                                          headCount: name.contains("q_proj") ? heads : kvHeads)
            }
            if architecture.isGemma && name.hasSuffix("norm.weight") { tensor.values = tensor.values.map { $0 + 1 } }
            append(ggufName, tensor.shape, tensor.values)
        }
        if let layer = experts.keys.min() { throw ConversionError("layer \(layer) has an incomplete set of expert tensors") }
        return out
    }

    private static func f32Bytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
    }

    /// Round to nearest even, quiet NaNs kept NaN (gguf-py's BF16 quantisation).
    private static func bf16Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in
            let bits = v.bitPattern
            let rounded = v.isNaN ? (bits | 0x0040_0000) >> 16 : (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
            return [UInt8(rounded & 0xFF), UInt8(rounded >> 8)]
        }
    }
}
