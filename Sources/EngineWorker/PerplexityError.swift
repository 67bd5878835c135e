/// Why a text cannot be scored by `PerplexityEvaluator`: the window length is unusable for this model, or the
/// text has too few tokens for any of them to be predicted.
public enum PerplexityError: Error, CustomStringConvertible, Equatable {
    /// A window of fewer than 2 tokens predicts nothing (its first token has no context).
    case contextTooShort(Int)
    /// A window longer than the positions the model was trained on.
    case contextTooLong(Int, modelContext: Int)
    /// The tokenized text (BOS included when the tokenizer adds one) has fewer than 2 tokens.
    case tooFewTokens(Int)

    public var description: String {
        switch self {
        case .contextTooShort(let context):
            return "a context of \(context) token(s) scores nothing: each window's first token has no context; give at least 2"
        case .contextTooLong(let context, let modelContext):
            return "a context of \(context) tokens exceeds this model's context length of \(modelContext) tokens"
        case .tooFewTokens(let count):
            return "the text has \(count) token(s) after tokenization; perplexity needs at least 2 (is the text empty?)"
        }
    }
}
