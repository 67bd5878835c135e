/// The `tokenizer.ggml.*` values of a GGUF file, as plain Swift values.
///
/// The engine loads models from GGUF, whose tokenizer lives in metadata arrays rather than in a
/// tokenizer.json. The GGUF reader (elsewhere) fills this struct; `Tokenizer.fromGGUF` turns it into
/// the same pipeline HF would run for the equivalent tokenizer.json, following llama.cpp's meaning of
/// each key.
public struct GGUFTokenizerMetadata: Sendable, Equatable {
    /// GGUF token types (`tokenizer.ggml.token_type`).
    public enum TokenType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// `tokenizer.ggml.model`: `"gpt2"` (byte-level BPE with merges) or `"llama"` (SentencePiece, scores).
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name (`"smollm"`, `"gpt2"`, `"default"`, `"llama-bpe"`, ...).
    public var preTokenizer: String?
    /// `tokenizer.ggml.tokens`, indexed by id.
    public var tokens: [String]
    /// `tokenizer.ggml.merges`, `"a b"` strings in rank order (gpt2 only).
    public var merges: [String]
    /// `tokenizer.ggml.scores`, indexed by id (llama only).
    public var scores: [Float]?
    /// `tokenizer.ggml.token_type`, indexed by id (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte); nil means all normal.
    public var tokenTypes: [Int32]?
    public var bosID: Int?
    public var eosID: Int?
    public var unknownID: Int?
    public var padID: Int?
    /// `tokenizer.ggml.add_bos_token`; nil uses llama.cpp's default for the model.
    public var addBOS: Bool?
    /// `tokenizer.ggml.add_eos_token`; nil means false.
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix` (llama only); nil means true.
    public var addSpacePrefix: Bool?

    public init(model: String, preTokenizer: String? = nil, tokens: [String], merges: [String] = [],
                scores: [Float]? = nil, tokenTypes: [Int32]? = nil, bosID: Int? = nil, eosID: Int? = nil,
                unknownID: Int? = nil, padID: Int? = nil, addBOS: Bool? = nil, addEOS: Bool? = nil,
                addSpacePrefix: Bool? = nil) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.merges = merges
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.padID = padID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
    }

    /// How errors name the source of these values.
    static let file = "GGUF tokenizer metadata"

    private func checkedID(_ id: Int?, _ key: String) throws -> Int32? {
        guard let id else { return nil }
        guard id >= 0 && id < tokens.count else {
            throw TokenizerError.malformed(file: Self.file, detail: "tokenizer.ggml.\(key) = \(id) is outside the \(tokens.count) tokens")
        }
        return Int32(id)
    }

    func definition() throws -> TokenizerDefinition {
        let file = Self.file
        if let types = tokenTypes, types.count != tokens.count {
            throw TokenizerError.malformed(file: file, detail: "token_type has \(types.count) entries for \(tokens.count) tokens")
        }
        let types: [TokenType] = (tokenTypes ?? []).map { TokenType(rawValue: $0) ?? .normal }
        func type(_ id: Int) -> TokenType { types.isEmpty ? .normal : types[id] }

        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(tokens.count)
        for (id, piece) in tokens.enumerated() where vocab[piece] == nil { vocab[piece] = Int32(id) }

        let bos = try checkedID(bosID, "bos_token_id")
        let eos = try checkedID(eosID, "eos_token_id")
        var unknown = try checkedID(unknownID, "unknown_token_id")
        _ = try checkedID(padID, "padding_token_id")
        if unknown == nil, let firstUnknown = types.firstIndex(of: .unknown) { unknown = Int32(firstUnknown) }

        // Control and unknown tokens are matched in the text as special tokens (llama.cpp's special
        // token cache); user-defined tokens are matched too but are not special.
        var added: [AddedToken] = []
        for id in 0..<tokens.count {
            switch type(id) {
            case .control, .unknown:
                added.append(AddedToken(id: Int32(id), content: tokens[id], special: true))
            case .userDefined:
                added.append(AddedToken(id: Int32(id), content: tokens[id], special: false))
            default:
                break
            }
        }

        switch model {
        case "gpt2":
            var pairs: [(String, String)] = []
            pairs.reserveCapacity(merges.count)
            for (i, m) in merges.enumerated() {
                guard let space = m.utf8.firstIndex(of: 0x20) else {
                    throw TokenizerError.malformed(file: file, detail: "merges[\(i)] \"\(m)\" is not \"a b\"")
                }
                pairs.append((String(m[..<space]), String(m[m.index(after: space)...])))
            }
            let pre = preTokenizer ?? "default"
            let preTok: PreTokenizer
            var ignoreMerges = false
            var defaultAddBOS = false
            switch pre {
            case "smollm":
                preTok = .sequence([.digits(individual: true), .byteLevel(addPrefixSpace: false, pattern: .gpt2)])
            case "gpt2", "gpt-2", "default":
                preTok = .byteLevel(addPrefixSpace: false, pattern: .gpt2)
            case "llama-bpe", "llama3", "llama-v3":
                preTok = .sequence([.split(.llama3(maxDigits: 3)), .byteLevel(addPrefixSpace: false, pattern: nil)])
                ignoreMerges = true
                defaultAddBOS = true
            case "qwen2":
                preTok = .sequence([.split(.llama3(maxDigits: 1)), .byteLevel(addPrefixSpace: false, pattern: nil)])
            default:
                throw TokenizerError.unsupported(file: file, feature: "tokenizer.ggml.pre \"\(pre)\"")
            }
            let unkPiece = unknown.map { tokens[Int($0)] }
            let bpe = try BytePairEncoder(vocab: vocab, merges: pairs, unknownToken: unkPiece, byteFallback: false,
                                          fuseUnknown: false, ignoreMerges: ignoreMerges, file: file)
            let prefix: [Int32] = (addBOS ?? defaultAddBOS) ? (bos.map { [$0] } ?? []) : []
            let suffix: [Int32] = (addEOS ?? false) ? (eos.map { [$0] } ?? []) : []
            return TokenizerDefinition(model: .bpe(bpe), vocab: vocab, pieces: tokens, normalizer: nil, preTokenizer: preTok,
                                       decoder: .byteLevel, addedTokens: added, prefixIDs: prefix, suffixIDs: suffix,
                                       bosID: bos, eosID: eos)

        case "llama":
            guard let scores else {
                throw TokenizerError.malformed(file: file, detail: "model \"llama\" needs tokenizer.ggml.scores")
            }
            guard scores.count == tokens.count else {
                throw TokenizerError.malformed(file: file, detail: "scores has \(scores.count) entries for \(tokens.count) tokens")
            }
            var pieces: [[UInt8]: Int32] = [:]
            for (id, piece) in tokens.enumerated() where type(id) == .normal || type(id) == .userDefined {
                let key = Array(piece.utf8)
                if pieces[key] == nil { pieces[key] = Int32(id) }
            }
            let byteIDs: [Int32] = (0..<256).map { vocab[BytePairEncoder.byteTokenName(UInt8($0))] ?? -1 }
            let spm = SentencePieceBPE(pieces: pieces, scores: scores, byteIDs: byteIDs, unknownID: unknown)
            let spacePrefix = addSpacePrefix ?? true
            var steps: [Normalizer] = []
            if spacePrefix { steps.append(.prepend("\u{2581}")) }
            steps.append(.replace(pattern: " ", content: "\u{2581}"))
            let decoder = TokenDecoder.sequence([
                .replace(pattern: "\u{2581}", content: " "), .byteFallback, .fuse,
                .strip(content: " ", start: spacePrefix ? 1 : 0, stop: 0),
            ])
            let prefix: [Int32] = (addBOS ?? true) ? (bos.map { [$0] } ?? []) : []
            let suffix: [Int32] = (addEOS ?? false) ? (eos.map { [$0] } ?? []) : []
            return TokenizerDefinition(model: .sentencePiece(spm), vocab: vocab, pieces: tokens, normalizer: .sequence(steps),
                                       preTokenizer: nil, decoder: decoder, addedTokens: added,
                                       prefixIDs: prefix, suffixIDs: suffix, bosID: bos, eosID: eos)

        default:
            throw TokenizerError.unsupported(file: file, feature: "tokenizer.ggml.model \"\(model)\" (supported: gpt2, llama)")
        }
    }
}
