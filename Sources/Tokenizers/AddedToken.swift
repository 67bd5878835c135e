/// A token that is matched verbatim in the input text before the model runs (HuggingFace
/// `added_tokens`, GGUF control / user-defined tokens).
///
/// It exists because chat templates and control markers (`<|im_start|>`, `<s>`) must map to a
/// single id rather than be split by BPE, and because `special` decides what `decode` may skip.
public struct AddedToken: Sendable, Equatable {
    /// Token id in the vocabulary.
    public var id: Int32
    /// Exact text that is matched in the input and produced by `decode`.
    public var content: String
    /// Special tokens are skipped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Whether a match also swallows whitespace on its left.
    public var lstrip: Bool
    /// Whether a match also swallows whitespace on its right.
    public var rstrip: Bool
    /// Whether the token is matched in the normalized text (true) or the raw text (false).
    public var normalized: Bool
    /// Whether the token only matches as a whole word.
    public var singleWord: Bool

    public init(id: Int32, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, singleWord: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.singleWord = singleWord
    }
}
