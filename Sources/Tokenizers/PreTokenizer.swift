/// One word produced by pre-tokenization, handed to the BPE model on its own.
///
/// `byteLevel` means the word's real spelling is the GPT-2 byte-level mapping of `bytes`; keeping
/// the raw bytes lets the BPE model map them to ids through a 256-entry table instead of building
/// the mapped string.
struct PreToken: Sendable {
    var bytes: ArraySlice<UInt8>
    var byteLevel: Bool
    /// Whether the word starts at the very beginning of the input (Metaspace `prepend_scheme: first`).
    var atTextStart: Bool

    /// The same word with the byte-level mapping applied to its bytes.
    func materialized() -> PreToken {
        guard byteLevel else { return self }
        return PreToken(bytes: ArraySlice(ByteLevelAlphabet.encode(bytes)), byteLevel: false, atTextStart: atTextStart)
    }

    /// The word's spelling as it appears in the vocabulary.
    var vocabularySpelling: String {
        if byteLevel { return String(decoding: ByteLevelAlphabet.encode(bytes), as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// When Metaspace adds its leading `▁`.
enum PrependScheme: String, Sendable, Equatable {
    case always, first, never
}

/// Splitting of a normalized segment into words (HuggingFace `pre_tokenizer`).
///
/// BPE merges never cross word boundaries, so reproducing HF's ids requires reproducing its exact
/// word splits: byte-level models split with the GPT-2 / Llama-3 patterns (optionally after
/// isolating digits), SentencePiece-style models use Metaspace or nothing.
indirect enum PreTokenizer: Sendable, Equatable {
    case sequence([PreTokenizer])
    /// GPT-2 ByteLevel: optional prefix space, optional split with the GPT-2 pattern, byte mapping.
    case byteLevel(addPrefixSpace: Bool, pattern: SplitPattern?)
    /// `Split` with a known regex and behavior `Isolated`.
    case split(SplitPattern)
    /// `Digits`: isolates each digit (`individual`) or each run of digits.
    case digits(individual: Bool)
    /// `Metaspace`: spaces become `replacement`, optional leading replacement, optional split
    /// before each replacement character.
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)

    /// Pre-tokenizes one normalized segment.
    func pretokenize(_ input: PreToken) -> [PreToken] {
        var words = [input]
        apply(to: &words)
        return words
    }

    private func apply(to words: inout [PreToken]) {
        switch self {
        case .sequence(let steps):
            for step in steps { step.apply(to: &words) }
        default:
            var out: [PreToken] = []
            out.reserveCapacity(words.count)
            for word in words where !word.bytes.isEmpty {
                splitOne(word, into: &out)
            }
            words = out
        }
    }

    private func splitOne(_ input: PreToken, into out: inout [PreToken]) {
        switch self {
        case .sequence:
            var words = [input]
            apply(to: &words)
            out.append(contentsOf: words)

        case let .byteLevel(addPrefixSpace, pattern):
            var word = input.materialized()
            if addPrefixSpace && word.bytes.first != 0x20 {
                word.bytes = ArraySlice([0x20] + word.bytes)
            }
            guard let pattern else {
                out.append(PreToken(bytes: word.bytes, byteLevel: true, atTextStart: word.atTextStart))
                return
            }
            let ranges = pattern.split(DecodedScalars(word.bytes))
            for (k, r) in ranges.enumerated() {
                out.append(PreToken(bytes: word.bytes[r], byteLevel: true, atTextStart: word.atTextStart && k == 0))
            }

        case .split(let pattern):
            let word = input.materialized()
            let ranges = pattern.split(DecodedScalars(word.bytes))
            for (k, r) in ranges.enumerated() {
                out.append(PreToken(bytes: word.bytes[r], byteLevel: false, atTextStart: word.atTextStart && k == 0))
            }

        case .digits(let individual):
            let word = input.materialized()
            let text = DecodedScalars(word.bytes)
            var start = 0
            var i = 0
            func emit(_ a: Int, _ b: Int) {
                guard a < b else { return }
                out.append(PreToken(bytes: word.bytes[text.offsets[a]..<text.offsets[b]], byteLevel: false,
                                    atTextStart: word.atTextStart && a == 0))
            }
            while i < text.count {
                if ScalarClass.of(text.scalars[i]) == .number {
                    emit(start, i)
                    var j = i + 1
                    if !individual {
                        while j < text.count && ScalarClass.of(text.scalars[j]) == .number { j += 1 }
                    }
                    emit(i, j)
                    start = j
                    i = j
                } else {
                    i += 1
                }
            }
            emit(start, text.count)

        case let .metaspace(replacement, scheme, split):
            let word = input.materialized()
            let rep = Array(replacement.utf8)
            var bytes = ByteSearch.replace(word.bytes, pattern: [0x20], with: rep)
            let startsWithReplacement = ByteSearch.matches(bytes, at: 0, rep)
            switch scheme {
            case .always where !startsWithReplacement,
                 .first where !startsWithReplacement && word.atTextStart:
                bytes = rep + bytes
            default:
                break
            }
            guard split else {
                out.append(PreToken(bytes: ArraySlice(bytes), byteLevel: false, atTextStart: word.atTextStart))
                return
            }
            // MergedWithNext: every replacement character starts a new word.
            var start = 0
            var i = 0
            while i < bytes.count {
                if i > start && ByteSearch.matches(bytes, at: i, rep) {
                    out.append(PreToken(bytes: bytes[start..<i], byteLevel: false, atTextStart: word.atTextStart && start == 0))
                    start = i
                    i += rep.count
                } else {
                    i += 1
                }
            }
            if start < bytes.count {
                out.append(PreToken(bytes: bytes[start..<bytes.count], byteLevel: false,
                                    atTextStart: word.atTextStart && start == 0))
            }
        }
    }
}
