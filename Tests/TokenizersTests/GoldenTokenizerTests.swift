import Foundation
import XCTest
import ModelFormats
import TestSupport
import Tokenizers

/// Every case of `golden/*/tokenizer_cases.json` (made with HF `tokenizers`) must be reproduced exactly.
final class GoldenTokenizerTests: XCTestCase {
    func testStoriesTokenizerCases() throws {
        try Self.checkAllCases(GoldenData.stories, try GoldenData.tokenizer(GoldenData.stories))
    }

    func testSmolLMTokenizerCases() throws {
        try Self.checkAllCases(GoldenData.smollm, try GoldenData.tokenizer(GoldenData.smollm))
    }

    /// The path the server takes for a GGUF model: the tokenizer read from the `tokenizer.ggml.*` metadata of the
    /// SmolLM2 GGUF file itself.
    func testSmolLMTokenizerFromGGUFFileCases() throws {
        let checkpoint = try ModelCheckpoint(path: SharedData.smolLMGGUF)
        guard case .gguf = checkpoint.format else { return XCTFail("\(SharedData.smolLMGGUF) was not read as GGUF") }
        try Self.checkAllCases(GoldenData.smollm, try Tokenizer.load(checkpoint: checkpoint))
    }

    /// Checks ids (with and without special tokens), pieces and both decodings of every case of `model`.
    /// `spelling` is applied to both sides of the piece comparison, for files that write some pieces differently
    /// from HF's vocabulary without changing any id or text.
    static func checkAllCases(_ model: String, _ tokenizer: Tokenizer, spelling: (String) -> String = { $0 },
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try GoldenData.tokenizerCases(model)
        XCTAssertGreaterThan(cases.count, 200, file: file, line: line)
        var passed = 0
        for c in cases {
            var problems: [String] = []
            let ids = tokenizer.encode(c.text, addSpecialTokens: true)
            if ids != c.ids { problems.append("ids \(ids) != \(c.ids)") }
            let idsNoSpecial = tokenizer.encode(c.text, addSpecialTokens: false)
            if idsNoSpecial != c.idsNoSpecial { problems.append("ids_no_special \(idsNoSpecial) != \(c.idsNoSpecial)") }
            let pieces = c.idsNoSpecial.map { tokenizer.tokenString($0) ?? "<nil>" }
            if pieces.map(spelling) != c.tokensNoSpecial.map(spelling) { problems.append("tokens \(pieces) != \(c.tokensNoSpecial)") }
            let decodedSkip = tokenizer.decode(c.ids, skipSpecialTokens: true)
            if decodedSkip != c.decodedSkipSpecial {
                problems.append("decode(ids, skip) \(show(decodedSkip)) != \(show(c.decodedSkipSpecial))")
            }
            let decodedKeep = tokenizer.decode(c.idsNoSpecial, skipSpecialTokens: false)
            if decodedKeep != c.decodedNoSpecialKeepSpecial {
                problems.append("decode(ids_no_special, keep) \(show(decodedKeep)) != \(show(c.decodedNoSpecialKeepSpecial))")
            }
            if problems.isEmpty {
                passed += 1
            } else {
                XCTFail("\(model) case \(show(c.text)): " + problems.joined(separator: "; "), file: file, line: line)
            }
        }
        XCTAssertEqual(passed, cases.count, "\(model): \(passed)/\(cases.count) tokenizer cases pass", file: file, line: line)
    }
}
