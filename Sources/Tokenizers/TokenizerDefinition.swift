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
    /// Model vocabulary (piece → id), without added tokens that are not also model pieces.
    var vocab: [String: Int32]
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
