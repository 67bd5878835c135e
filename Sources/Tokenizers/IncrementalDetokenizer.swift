/// Streams the text of generated tokens as they arrive.
///
/// Decoding each token on its own is wrong (a character may span several byte tokens, and
/// SentencePiece's leading space depends on what came before), and re-decoding everything per
/// token is quadratic. This keeps a small window of tokens like HF text-generation-inference and
/// vLLM (`prefixOffset`/`readOffset`): it decodes the window with and without the new tokens and
/// emits the difference, holding text back while it ends in an incomplete character (U+FFFD).
///
/// The concatenation of everything emitted equals
/// `decode(prompt + generated)` minus `decode(prompt)` (with the same `skipSpecialTokens`), e.g. the
/// leading space of a SentencePiece continuation is kept.
public struct IncrementalDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var ids: [Int32]
    /// Start of the decoding window (tokens before it are already emitted).
    private var prefixOffset: Int
    /// End of the part of the window that has been emitted.
    private var readOffset: Int
    /// Whether the tokens before the window decode to non-empty text, i.e. the window is not at the
    /// start of the text and sequence-start decoding rules (leading-space strip) do not apply to it.
    private var textBeforeWindow: Bool

    public init(tokenizer: Tokenizer, promptIDs: [Int32], skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.ids = promptIDs
        self.prefixOffset = promptIDs.count
        self.readOffset = promptIDs.count
        self.textBeforeWindow = !tokenizer.decode(promptIDs[...], skipSpecialTokens: skipSpecialTokens,
                                                  continuation: true).isEmpty
    }

    /// All ids seen so far (prompt and generated).
    public var allIDs: [Int32] { ids }

    /// Adds generated ids and returns the text that became final (possibly empty).
    public mutating func append(_ newIDs: [Int32]) -> String {
        ids.append(contentsOf: newIDs)
        return emit(final: false)
    }

    /// Adds one generated id and returns the text that became final (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        append([id])
    }

    /// Returns whatever is still held back (e.g. an incomplete character at the end of generation).
    public mutating func finish() -> String {
        emit(final: true)
    }

    private func window(_ range: Range<Int>) -> String {
        tokenizer.decode(ids[range], skipSpecialTokens: skipSpecialTokens, continuation: textBeforeWindow)
    }

    private mutating func emit(final: Bool) -> String {
        guard ids.count > readOffset else { return "" }
        let prefixText = window(prefixOffset..<readOffset)
        let fullText = window(prefixOffset..<ids.count)
        let prefixBytes = prefixText.utf8.count
        guard fullText.utf8.count > prefixBytes || (final && fullText != prefixText) else { return "" }
        if !final && fullText.unicodeScalars.last == "\u{FFFD}" { return "" }
        let delta: String
        if fullText.utf8.starts(with: prefixText.utf8) {
            delta = String(decoding: fullText.utf8.dropFirst(prefixBytes), as: UTF8.self)
        } else {
            // The window's earlier text changed (only possible around invalid byte sequences);
            // emit what lies beyond the already-emitted length.
            delta = String(String.UnicodeScalarView(fullText.unicodeScalars.dropFirst(prefixText.unicodeScalars.count)))
        }
        if !textBeforeWindow {
            // The tokens leaving the window: once they produced any text, later windows are
            // continuations.
            textBeforeWindow = !tokenizer.decode(ids[prefixOffset..<readOffset], skipSpecialTokens: skipSpecialTokens,
                                                 continuation: true).isEmpty
        }
        prefixOffset = readOffset
        readOffset = ids.count
        return delta
    }
}
