import Foundation
import XCTest
import ModelFormats
import TestSupport
import Tokenizers

/// Gemma 3's tokenizer, read from the `tokenizer.ggml.*` metadata of `gemma-3-270m-q4_k_m.gguf` (SentencePiece with
/// 262,144 pieces, byte fallback, BOS added, no dummy-prefix space; whitespace runs, newline runs and HTML tags are
/// user-defined pieces, `<start_of_turn>` and its kind control pieces), against `golden/gemma3-270m-q4_k_m` (HF
/// `tokenizers` on transformers' conversion of the same file). The model is fetched by `scripts/setup.sh`; without it
/// these tests fail, saying so.
final class Gemma3TokenizerGoldenTests: XCTestCase {
    /// The 217 cases: ids with and without BOS, pieces and both decodings. The GGUF writes the whitespace-run pieces
    /// with spaces (llama.cpp's converter turns SentencePiece's `▁` in user-defined pieces into spaces) where HF's
    /// vocabulary keeps `▁▁`: pieces are compared with `▁` read as a space, as the decoder reads it.
    func testGoldenCases() throws {
        try GoldenTokenizerTests.checkAllCases(GoldenData.gemma3, try GoldenData.tokenizer(GoldenData.gemma3),
                                               spelling: { $0.replacingOccurrences(of: "\u{2581}", with: " ") })
    }

    func testIncrementalDetokenizationAllSplits() throws {
        try IncrementalDetokenizerTests.checkAllSplits(GoldenData.gemma3)
    }

    /// The generation prompts' ids, and the greedy continuations streamed token by token and in batches.
    func testPromptsAndStreaming() throws {
        try GoldenGenerationTests.check(GoldenData.gemma3)
    }

    /// Every id keeps its own piece, byte for byte: the vocabulary holds 434 pairs of canonically equivalent pieces
    /// (`▁là` precomposed and spelled with U+0300, ids 3244 and 127866), which tables keyed by `String` would merge.
    func testEveryIDHasItsOwnPiece() throws {
        let tokenizer = try GoldenData.tokenizer(GoldenData.gemma3)
        let tokens = try GGUFTokenizerMetadata(gguf: GGUFFile(path: ModelCache.require(ModelCache.gemma3GGUF))).tokens
        XCTAssertEqual(tokenizer.vocabularySize, tokens.count)
        let differing = tokens.indices.filter { tokenizer.tokenString(Int32($0)).map { Array($0.utf8) } != Array(tokens[$0].utf8) }
        XCTAssertEqual(differing, [])
        XCTAssertEqual(Array(tokenizer.decode([127866]).utf8), Array(" la\u{300}".utf8))
    }

    /// Gemma's turn markers are control pieces: written in the text (as a chat template writes them) they become
    /// single ids, and decoding skips them unless asked to keep them.
    func testTurnMarkersAreSpecialTokens() throws {
        let tokenizer = try GoldenData.tokenizer(GoldenData.gemma3)
        let start = try XCTUnwrap(tokenizer.tokenID("<start_of_turn>"))
        let end = try XCTUnwrap(tokenizer.tokenID("<end_of_turn>"))
        XCTAssertTrue(tokenizer.isSpecial(start) && tokenizer.isSpecial(end))
        let user = tokenizer.encode("user\nHi there", addSpecialTokens: false)
        let newline = tokenizer.encode("\n", addSpecialTokens: false)
        let ids = tokenizer.encode("<start_of_turn>user\nHi there<end_of_turn>\n")
        XCTAssertEqual(ids, [try XCTUnwrap(tokenizer.bosTokenID), start] + user + [end] + newline)
        XCTAssertEqual(tokenizer.decode(ids), "user\nHi there\n")
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false), "<bos><start_of_turn>user\nHi there<end_of_turn>\n")
    }
}
