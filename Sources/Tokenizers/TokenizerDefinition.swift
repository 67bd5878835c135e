/// The word-to-ids model of a tokenizer.
enum TokenizationModel: Sendable {
    /// Ranked-merge BPE (HF `BPE`, GGUF `gpt2`).
    case bpe(BytePairEncoder)
    /// Score-driven SentencePiece BPE (GGUF `llama`).
    case sentencePiece(SentencePieceBPE)

    func tokenize(_ word: PreToken, into out: inout [Int32]) {
        switch self {
        case .bpe(let m): m.tokenize(word, into: &out)
        case .sentencePiece(let m): m.tokenize(word, into: &out)
        }
    }
}

/// Everything a `Tokenizer` is made of, whatever file it was read from.
///
/// tokenizer.json and GGUF metadata describe the same pipeline in different shapes; both loaders
/// produce this value so that `Tokenizer` has one construction path.
struct TokenizerDefinition: Sendable {
    var model: TokenizationModel
    /// Model vocabulary (piece → id), without added tokens that are not also model pieces. `String` keys compare by
    /// canonical equivalence, so of two canonically equivalent pieces (`é` and `e` + U+0301, distinct pieces with
    /// distinct ids in multilingual vocabularies) it holds one; `pieces` keeps both.
    var vocab: [String: Int32]
    /// Every model piece in id order, when the file lists them so (GGUF); nil builds the id → piece table from
    /// `vocab`.
    var pieces: [String]?
    var normalizer: Normalizer?
    var preTokenizer: PreTokenizer?
    var decoder: TokenDecoder?
    var addedTokens: [AddedToken]
    /// Ids placed before / after the encoded text when `addSpecialTokens` is true.
    var prefixIDs: [Int32]
    var suffixIDs: [Int32]
    var bosID: Int32?
    var eosID: Int32?
}

extension TokenizerDefinition {
    /// Checks that every id — vocabulary pieces, added tokens, the ids placed around the text, BOS and EOS — lies in
    /// 0..<(vocabulary pieces + added tokens): the ids a file can define leave no larger gaps, and `Tokenizer`
    /// allocates a piece table as long as the largest id, so a stray huge id in a malformed file must be an error.
    func checkTokenIDs(file: String) throws {
        let bound = (pieces?.count ?? vocab.count) + addedTokens.count
        func check(_ id: Int32, _ what: @autoclosure () -> String) throws {
            guard id >= 0 && Int(id) < bound else {
                throw TokenizerError.malformed(file: file, detail: "\(what()) has id \(id), outside 0..<\(bound) "
                    + "(\(vocab.count) vocabulary pieces and \(addedTokens.count) added tokens)")
            }
        }
        for (piece, id) in vocab { try check(id, "vocabulary piece \"\(piece)\"") }
        for token in addedTokens { try check(token.id, "added token \"\(token.content)\"") }
        for id in prefixIDs + suffixIDs { try check(id, "a post-processor token") }
        if let bosID { try check(bosID, "the BOS token") }
        if let eosID { try check(eosID, "the EOS token") }
    }
}
