import Foundation

/// Text ⇄ token ids, reproducing HuggingFace `tokenizers` for the model families in use.
///
/// The engine needs the exact ids the model was trained with (one different id changes the whole
/// generation), and the gateway needs the exact text back. A `Tokenizer` is immutable after
/// construction (its only mutable part is an internal, locked word cache) and is meant to be
/// shared by all requests and threads.
public final class Tokenizer: Sendable {
    let model: TokenizationModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let decoder: TokenDecoder?
    /// Added tokens matched in the raw text / in the normalized text.
    let rawSplitter: AddedTokenSplitter
    let normalizedSplitter: AddedTokenSplitter
    /// Added tokens by id.
    let addedByID: [Int32: AddedToken]
    let addedByContent: [String: Int32]
    let specialContents: Set<String>
    let vocab: [String: Int32]
    /// Model piece by id (nil for ids the model does not have).
    let pieces: [String?]
    let prefixIDs: [Int32]
    let suffixIDs: [Int32]

    /// Number of ids (model vocabulary plus added tokens beyond it).
    public let vocabularySize: Int
    /// Beginning-of-sequence token, if the tokenizer defines one.
    public let bosTokenID: Int32?
    /// End-of-sequence token, if the tokenizer defines one.
    public let eosTokenID: Int32?
    /// The added tokens, in id order (`normalized` ones hold their normalized content, as in HF).
    public let addedTokens: [AddedToken]

    /// Builds the tokenizer after checking the definition's ids (`file` names the source in errors).
    init(_ d: TokenizerDefinition, file: String) throws {
        try d.checkTokenIDs(file: file)
        model = d.model
        normalizer = d.normalizer
        preTokenizer = d.preTokenizer
        decoder = d.decoder
        vocab = d.vocab
        var maxID = Int32(d.pieces?.count ?? 0) - 1
        for id in d.vocab.values { maxID = max(maxID, id) }
        for t in d.addedTokens { maxID = max(maxID, t.id) }
        var pieces = [String?](repeating: nil, count: Int(maxID + 1))
        if let list = d.pieces {
            for (id, piece) in list.enumerated() { pieces[id] = piece }
        } else {
            for (piece, id) in d.vocab { pieces[Int(id)] = piece }
        }
        self.pieces = pieces
        vocabularySize = Int(maxID + 1)
        // HF stores a `normalized` added token in its normalized form: that is what it matches in
        // the normalized text and what `id_to_token` / decode return.
        let sortedAdded = d.addedTokens.sorted { $0.id < $1.id }.map { token -> AddedToken in
            guard token.normalized, let normalizer = d.normalizer else { return token }
            var t = token
            t.content = normalizer.normalize(token.content)
            return t
        }
        addedTokens = sortedAdded
        var byID: [Int32: AddedToken] = [:]
        var byContent: [String: Int32] = [:]
        var special = Set<String>()
        for t in sortedAdded {
            byID[t.id] = t
            byContent[t.content] = t.id
            if t.special { special.insert(t.content) }
        }
        addedByID = byID
        addedByContent = byContent
        specialContents = special
        rawSplitter = AddedTokenSplitter(sortedAdded.filter { !$0.normalized }.map { ($0.content, $0) })
        normalizedSplitter = AddedTokenSplitter(sortedAdded.filter { $0.normalized }.map { ($0.content, $0) })
        prefixIDs = d.prefixIDs
        suffixIDs = d.suffixIDs
        bosTokenID = d.bosID
        eosTokenID = d.eosID
    }

    // MARK: - Loading

    /// Loads `tokenizer.json` and, if present, `tokenizer_config.json` from a model directory.
    public static func load(directory: URL) throws -> Tokenizer {
        let json = directory.appendingPathComponent("tokenizer.json")
        let config = directory.appendingPathComponent("tokenizer_config.json")
        let hasConfig = FileManager.default.fileExists(atPath: config.path)
        return try load(tokenizerJSON: json, config: hasConfig ? config : nil)
    }

    /// Loads a HuggingFace `tokenizer.json`; the optional `tokenizer_config.json` supplies the
    /// BOS/EOS tokens (and `add_bos_token` when tokenizer.json has no post-processor).
    public static func load(tokenizerJSON: URL, config: URL?) throws -> Tokenizer {
        try Tokenizer(try TokenizerJSON.parse(tokenizerJSON: tokenizerJSON, config: config), file: tokenizerJSON.lastPathComponent)
    }

    /// Builds a tokenizer from the `tokenizer.ggml.*` metadata of a GGUF file.
    public static func fromGGUF(_ metadata: GGUFTokenizerMetadata) throws -> Tokenizer {
        try Tokenizer(try metadata.definition(), file: GGUFTokenizerMetadata.file)
    }

    // MARK: - Encoding

    /// Token ids of `text`. With `addSpecialTokens`, the post-processor's tokens (typically BOS)
    /// are added. Added tokens written in the text (e.g. `<|im_start|>`) become their ids.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        var out: [Int32] = addSpecialTokens ? prefixIDs : []
        let bytes = Array(text.utf8)
        for segment in rawSplitter.split(bytes) {
            switch segment {
            case .token(let id):
                out.append(id)
            case .text(let range):
                encodeSegment(Array(bytes[range]), atTextStart: range.lowerBound == 0, into: &out)
            }
        }
        if addSpecialTokens { out.append(contentsOf: suffixIDs) }
        return out
    }

    /// Normalizes, splits out normalized added tokens, pre-tokenizes and runs the model.
    private func encodeSegment(_ raw: [UInt8], atTextStart: Bool, into out: inout [Int32]) {
        let normalized = normalizer?.normalize(raw) ?? raw
        for segment in normalizedSplitter.split(normalized) {
            switch segment {
            case .token(let id):
                out.append(id)
            case .text(let range):
                let word = PreToken(bytes: normalized[range], byteLevel: false,
                                    atTextStart: atTextStart && range.lowerBound == 0)
                if let preTokenizer {
                    for w in preTokenizer.pretokenize(word) { model.tokenize(w, into: &out) }
                } else {
                    model.tokenize(word, into: &out)
                }
            }
        }
    }

    // MARK: - Decoding

    /// Text of `ids`, as HF `decode` produces it. Ids outside the vocabulary are ignored.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        decode(ids[...], skipSpecialTokens: skipSpecialTokens, continuation: false)
    }

    /// See `TokenDecoder.decode(_:continuation:)` for `continuation`.
    func decode(_ ids: ArraySlice<Int32>, skipSpecialTokens: Bool, continuation: Bool) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let piece = tokenString(id) else { continue }
            if skipSpecialTokens && specialContents.contains(piece) { continue }
            tokens.append(piece)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens, continuation: continuation)
    }

    // MARK: - Vocabulary

    /// The vocabulary piece of an id (`▁`/`Ġ` spellings), or an added token's content.
    public func tokenString(_ id: Int32) -> String? {
        if let added = addedByID[id] { return added.content }
        guard id >= 0 && Int(id) < pieces.count else { return nil }
        return pieces[Int(id)]
    }

    /// The id of a vocabulary piece or added token's content.
    public func tokenID(_ piece: String) -> Int32? {
        addedByContent[piece] ?? vocab[piece]
    }

    /// Whether `id` is a special added token (skipped by `decode(_:skipSpecialTokens: true)`).
    public func isSpecial(_ id: Int32) -> Bool {
        addedByID[id]?.special ?? false
    }
}
