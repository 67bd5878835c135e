import Foundation
import XCTest
import Tokenizers

/// Streaming text must add up to `decode(prompt + generated) - decode(prompt)` for any split of a
/// token sequence, and never emit part of a character.
final class IncrementalDetokenizerTests: XCTestCase {
    /// Deterministic split points: every position for short sequences, a spread otherwise.
    private static func splitPoints(_ count: Int) -> [Int] {
        if count <= 12 { return Array(0...count) }
        return Array(Set([0, 1, 2, 3, count / 3, count / 2, count - 3, count - 2, count - 1, count])).sorted()
    }

    static func stream(_ tokenizer: Tokenizer, prompt: [Int32], generated: [Int32], skip: Bool) -> [String] {
        var d = IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: prompt, skipSpecialTokens: skip)
        var chunks = generated.map { d.append([$0]) }
        chunks.append(d.finish())
        return chunks
    }

    /// Streams every case of `model` split at several points, with and without skipping special tokens.
    static func checkAllSplits(_ model: String) throws {
        let tokenizer = try GoldenData.tokenizer(model)
        var checked = 0
        for c in try GoldenData.tokenizerCases(model) {
            for skip in [true, false] {
                let ids = c.ids
                for k in Self.splitPoints(ids.count) {
                    let prompt = Array(ids[..<k])
                    let generated = Array(ids[k...])
                    let full = tokenizer.decode(ids, skipSpecialTokens: skip)
                    let head = tokenizer.decode(prompt, skipSpecialTokens: skip)
                    // The definition only makes sense when the prompt's text is a prefix (it is not
                    // when the split falls inside a character).
                    guard full.unicodeScalars.starts(with: head.unicodeScalars) else { continue }
                    let expected = String(String.UnicodeScalarView(full.unicodeScalars.dropFirst(head.unicodeScalars.count)))
                    let chunks = Self.stream(tokenizer, prompt: prompt, generated: generated, skip: skip)
                    XCTAssertEqual(chunks.joined(), expected, "\(model) \(show(c.text)) split at \(k) skip \(skip)")
                    if !expected.unicodeScalars.contains("\u{FFFD}") {
                        for chunk in chunks where chunk.unicodeScalars.contains("\u{FFFD}") {
                            XCTFail("\(model) \(show(c.text)) split at \(k): partial character emitted")
                        }
                    }
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 1000)
    }

    func testStoriesAllSplits() throws { try Self.checkAllSplits(GoldenData.stories) }
    func testSmolLMAllSplits() throws { try Self.checkAllSplits(GoldenData.smollm) }

    /// An emoji spelled by four byte tokens is emitted once, when complete.
    func testHoldsBackIncompleteCharacters() throws {
        let stories = try GoldenData.tokenizer(GoldenData.stories)
        let prompt = stories.encode("Lily saw a")
        let emoji = stories.encode("😀!", addSpecialTokens: false)   // ▁ <0xF0> <0x9F> <0x98> <0x80> !
        XCTAssertEqual(emoji.count, 6)
        let chunks = Self.stream(stories, prompt: prompt, generated: emoji, skip: true)
        XCTAssertEqual(chunks, [" ", "", "", "", "😀", "!", ""])

        let smollm = try GoldenData.tokenizer(GoldenData.smollm)
        let ids = smollm.encode("a 😀 b", addSpecialTokens: false)
        let text = Self.stream(smollm, prompt: [], generated: ids, skip: true)
        XCTAssertEqual(text.joined(), "a 😀 b")
        XCTAssertFalse(text.contains { $0.unicodeScalars.contains("\u{FFFD}") })
    }

    /// SentencePiece: the first generated word keeps its space after a prompt, but not when the
    /// prompt has no text (only BOS), exactly like decoding the whole sequence.
    func testSentencePieceLeadingSpace() throws {
        let t = try GoldenData.tokenizer(GoldenData.stories)
        let once = t.encode("Once upon", addSpecialTokens: false)  // ▁Once ▁upon
        XCTAssertEqual(Self.stream(t, prompt: [1], generated: once, skip: true).joined(), "Once upon")
        XCTAssertEqual(Self.stream(t, prompt: [1, 346, 306, 414], generated: once, skip: true).joined(), " Once upon")
        // A prompt that is only whitespace: its leading space is the one stripped.
        XCTAssertEqual(Self.stream(t, prompt: [1, 410], generated: once, skip: true).joined(),
                       String(t.decode([1, 410] + once).dropFirst(t.decode([1, 410]).count)))
        // Special tokens in the generated part are skipped or kept.
        XCTAssertEqual(Self.stream(t, prompt: [1, 346], generated: [2, 261], skip: true).joined(), " a")
        XCTAssertEqual(Self.stream(t, prompt: [1, 346], generated: [2, 261], skip: false).joined(), "</s> a")
    }

    /// Invalid byte sequences are flushed by `finish()` instead of being held forever.
    func testFinishFlushesInvalidBytes() throws {
        let t = try GoldenData.tokenizer(GoldenData.stories)
        var d = IncrementalDetokenizer(tokenizer: t, promptIDs: [1, 346])
        XCTAssertEqual(d.append([243]), "")   // <0xF0>, a lead byte with nothing after it
        XCTAssertEqual(d.finish(), "\u{FFFD}")
        XCTAssertEqual(d.append([261]), " a")
    }
}
