import Foundation

/// The `tokenizer.ggml.*` keys llama.cpp's converter writes for a SentencePiece tokenizer (`_set_vocab_sentencepiece`
/// with gguf-py's `SpecialVocab`), made from a SentencePiece-derived `tokenizer.json` such as stories260K's: the
/// `llama` tokenizer model (pieces and scores, no merges), which llama.cpp and ScaleLLM's `Tokenizer.fromGGUF` both
/// read. The converter would take pieces and scores from a `tokenizer.model`, which these checkpoints do not ship;
/// the pieces here are `tokenizer.json`'s vocabulary by id, and the scores keep SentencePiece's order (a
/// SentencePiece BPE vocabulary is sorted by descending score, so score −id reproduces the merge ranks
/// `tokenizer.json`'s merges were derived from).
enum SentencePieceGGUFVocabulary {
    /// GGUF token types (gguf-py `TokenType`).
    private static let normal: Int32 = 1, control: Int32 = 3, userDefined: Int32 = 4, byte: Int32 = 6

    static func metadata(_ checkpoint: HFCheckpoint) throws -> [(String, GGUFWriter.Value)] {
        let tokenizer = try checkpoint.json("tokenizer.json")
        let tokenizerConfig = try checkpoint.json("tokenizer_config.json")
        guard let model = tokenizer["model"] as? [String: Any], let vocab = model["vocab"] as? [String: NSNumber] else {
            throw FixtureGGUFConverter.ConversionError("tokenizer.json has no model.vocab object")
        }
        guard vocab.keys.contains(where: { $0.hasPrefix("\u{2581}") }) else {
            throw FixtureGGUFConverter.ConversionError("tokenizer.json is not SentencePiece-style (no '\u{2581}' pieces)")
        }
        let count = checkpoint.number("vocab_size")?.intValue ?? vocab.count
        var tokens = [String?](repeating: nil, count: count)
        for (piece, id) in vocab where id.intValue < count { tokens[id.intValue] = piece }
        var scores = (0..<count).map { -Float($0) }
        var types = tokens.map { piece -> Int32 in
            // SentencePiece's byte-fallback pieces.
            guard let piece, piece.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">"), UInt8(piece.dropFirst(3).prefix(2), radix: 16) != nil
            else { return normal }
            return byte
        }
        // Added tokens: control if special, else user-defined; score -1000 (the converter's override of the model's).
        let addedTokens = tokenizerConfig["added_tokens_decoder"] as? [String: [String: Any]] ?? [:]
        for (key, entry) in addedTokens {
            guard let id = Int(key), id < count, let content = entry["content"] as? String else { continue }
            tokens[id] = content
            scores[id] = -1000
            types[id] = entry["special"] as? Bool == true ? control : userDefined
        }
        if let missing = tokens.firstIndex(of: nil) {
            throw FixtureGGUFConverter.ConversionError("tokenizer.json has no piece for id \(missing) of \(count)")
        }

        var metadata: [(String, GGUFWriter.Value)] = []
        // LlamaModel.set_vocab writes tokenizer_config.json's add_prefix_space. (The Gemma converters write false,
        // which describes Gemma's own tokenizer, not the one a checkpoint ships; it is not copied.)
        if let addPrefix = tokenizerConfig["add_prefix_space"] as? Bool {
            metadata.append(("tokenizer.ggml.add_space_prefix", .bool(addPrefix)))
        }
        metadata += [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.pre", .string("default")),
            ("tokenizer.ggml.tokens", .strings(tokens.map { $0! })),
            ("tokenizer.ggml.scores", .f32s(scores)),
            ("tokenizer.ggml.token_type", .i32s(types)),
        ]
        // SpecialVocab: ids of tokenizer_config.json's special token strings among tokenizer.json's added tokens, then
        // config.json's `<type>_token_id` for the types still unset.
        let added = tokenizer["added_tokens"] as? [[String: Any]] ?? []
        for (type, key) in [("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"), ("pad", "padding_token_id")] {
            let entry = tokenizerConfig["\(type)_token"]
            let content = entry as? String ?? (entry as? [String: Any])?["content"] as? String
            let id = content.flatMap { c in added.first { $0["content"] as? String == c }?["id"] as? NSNumber }
                ?? checkpoint.config["\(type)_token_id"] as? NSNumber
            if let id, (0..<count).contains(id.intValue) { metadata.append(("tokenizer.ggml.\(key)", .u32(id.uint32Value))) }
        }
        for type in ["bos", "eos"] {
            if let add = tokenizerConfig["add_\(type)_token"] as? Bool { metadata.append(("tokenizer.ggml.add_\(type)_token", .bool(add))) }
        }
        return metadata
    }
}
