import Foundation
import XCTest
import ModelFormats
import TestSupport
import Tokenizers

/// `Tokenizer.fromGGUF` fed with the values a GGUF file would carry, rebuilt here from the
/// tokenizer.json files; it must reproduce the same golden ids.
final class GGUFTokenizerTests: XCTestCase {
    private struct TokenizerFile: Decodable {
        struct Model: Decodable {
            var vocab: [String: Int32]
            var merges: [Merge]
        }
        struct Added: Decodable {
            var id: Int32
            var content: String
        }
        /// Merges are stored either as "a b" or as ["a", "b"].
        struct Merge: Decodable {
            var text: String
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { text = s } else { text = try c.decode([String].self).joined(separator: " ") }
            }
        }
        var model: Model
        var added_tokens: [Added]
    }

    private func readTokenizerFile(_ model: String) throws -> TokenizerFile {
        let url = GoldenData.modelDirectory(model).appendingPathComponent("tokenizer.json")
        return try JSONDecoder().decode(TokenizerFile.self, from: Data(contentsOf: url))
    }

    private func tokensByID(_ vocab: [String: Int32]) -> [String] {
        var tokens = [String](repeating: "", count: vocab.count)
        for (piece, id) in vocab { tokens[Int(id)] = piece }
        return tokens
    }

    /// The values are those of SmolLM2-135M-Instruct.Q4_1.gguf (checked against the file: same tokens
    /// and merges as tokenizer.json, token_type 3 for ids 0...16, add_bos_token false).
    func testSmolLMFromGGUFValues() throws {
        let file = try readTokenizerFile(GoldenData.smollm)
        let tokens = tokensByID(file.model.vocab)
        var types = [Int32](repeating: 1, count: tokens.count)
        for t in file.added_tokens { types[Int(t.id)] = 3 }
        let metadata = GGUFTokenizerMetadata(
            model: "gpt2", preTokenizer: "smollm", tokens: tokens, merges: file.model.merges.map(\.text),
            tokenTypes: types, bosID: 1, eosID: 2, unknownID: 0, padID: 2, addBOS: false, addSpacePrefix: false)
        let tokenizer = try Tokenizer.fromGGUF(metadata)
        XCTAssertEqual(tokenizer.vocabularySize, 49152)
        XCTAssertEqual(tokenizer.bosTokenID, 1)
        XCTAssertEqual(tokenizer.eosTokenID, 2)
        XCTAssertTrue(tokenizer.isSpecial(2))
        XCTAssertFalse(tokenizer.isSpecial(100))

        var passed = 0
        let cases = try GoldenData.tokenizerCases(GoldenData.smollm)
        for c in cases {
            let ids = tokenizer.encode(c.text)
            let decoded = tokenizer.decode(c.idsNoSpecial, skipSpecialTokens: false)
            if ids == c.ids && decoded == c.decodedNoSpecialKeepSpecial
                && tokenizer.decode(c.ids) == c.decodedSkipSpecial {
                passed += 1
            } else {
                XCTFail("GGUF smollm case \(show(c.text)): ids \(ids) expected \(c.ids), decoded \(show(decoded))")
            }
        }
        XCTAssertEqual(passed, cases.count)
        for c in try GoldenData.generationCases(GoldenData.smollm) {
            XCTAssertEqual(tokenizer.encode(c.prompt), c.promptIDs, "GGUF smollm prompt \(c.id)")
        }
    }

    /// The SentencePiece path (`llama` model: pieces + scores, no merges). stories260K's vocabulary is
    /// in SentencePiece score order, so score = -id reproduces its merge ranks.
    func testStoriesFromGGUFValuesUsesScores() throws {
        let file = try readTokenizerFile(GoldenData.stories)
        let tokens = tokensByID(file.model.vocab)
        var types = [Int32](repeating: 1, count: tokens.count)
        types[0] = 2
        types[1] = 3
        types[2] = 3
        for id in 3...258 { types[id] = 6 }
        let scores = (0..<tokens.count).map { -Float($0) }
        let metadata = GGUFTokenizerMetadata(
            model: "llama", tokens: tokens, scores: scores, tokenTypes: types, bosID: 1, eosID: 2, unknownID: 0)
        let tokenizer = try Tokenizer.fromGGUF(metadata)
        var passed = 0
        let cases = try GoldenData.tokenizerCases(GoldenData.stories)
        for c in cases {
            let ids = tokenizer.encode(c.text)
            let decodedSkip = tokenizer.decode(c.ids)
            let decodedKeep = tokenizer.decode(c.idsNoSpecial, skipSpecialTokens: false)
            if ids == c.ids && decodedSkip == c.decodedSkipSpecial && decodedKeep == c.decodedNoSpecialKeepSpecial {
                passed += 1
            } else {
                XCTFail("GGUF stories case \(show(c.text)): ids \(ids) expected \(c.ids)")
            }
        }
        XCTAssertEqual(passed, cases.count)
        for c in try GoldenData.generationCases(GoldenData.stories) {
            XCTAssertEqual(tokenizer.encode(c.prompt), c.promptIDs, "GGUF stories prompt \(c.id)")
        }
    }

    /// The tokenizer keys `FixtureGGUFConverter` writes for each architecture fixture load and work as the fixture's
    /// tokenizer.json does: the golden prompts and continuations decode to the same text, which encodes to the same ids.
    func testConvertedArchFixtureTokenizersMatchTheirTokenizerJSON() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-tokenizer-\(getpid())-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for family in SharedData.archFixtureFamilies {
            let directory = SharedData.archFixtureDirectory(family)
            try FixtureGGUFConverter.convert(directory: directory, to: scratch.path)
            let fromGGUF = try Tokenizer.fromGGUF(GGUFTokenizerMetadata(gguf: GGUFFile(path: scratch.path)))
            let fromJSON = try Tokenizer.load(directory: URL(fileURLWithPath: directory))
            for c in try SharedData.goldenCases("arch-fixtures/\(family)", "golden.json") {
                let ids = c.tokenIDs("prompt_token_ids") + c.tokenIDs("continuation_token_ids")
                let text = fromJSON.decode(ids)
                XCTAssertEqual(fromGGUF.decode(ids), text, family)
                XCTAssertEqual(fromGGUF.encode(text), fromJSON.encode(text), "\(family): \(show(text))")
            }
        }
    }

    /// `GGUFTokenizerMetadata(gguf:)` on a file whose tokenizer arrays hold the wrong element type: an error naming
    /// the key and index, never a shorter list (which would shift every later id) or a trap.
    func testMistypedTokenizerArraysInAGGUFFileAreErrors() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-tokenizer-\(getpid())-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: scratch) }
        /// A GGUF array of 64-bit `values` with element type `type` (10 unsigned, 11 signed).
        func array(type: UInt32, _ values: [UInt64]) -> GGUFWriter.Value {
            .raw(type: 9, bytes: GGUFWriter.u32(type) + GGUFWriter.u64(UInt64(values.count)) + values.flatMap(GGUFWriter.u64))
        }
        let tokens = GGUFWriter.Value.strings(["a", "b", "ab"])
        let cases: [(tokens: GGUFWriter.Value, tokenTypes: GGUFWriter.Value, problem: String)] = [
            (array(type: 10, [0, 1, 2]), array(type: 11, [1, 1, 1]), "tokenizer.ggml.tokens[0] is not a string"),
            (tokens, array(type: 11, [1, 1 << 40, 1]), "tokenizer.ggml.token_type[1] is not a 32-bit integer"),
            (tokens, .strings(["1", "1", "1"]), "tokenizer.ggml.token_type[0] is not a 32-bit integer"),
        ]
        for c in cases {
            let writer = GGUFWriter(metadata: [("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.tokens", c.tokens),
                                               ("tokenizer.ggml.token_type", c.tokenTypes), ("tokenizer.ggml.merges", .strings(["a b"]))])
            try Data(writer.bytes()).write(to: scratch)
            XCTAssertThrowsError(try GGUFTokenizerMetadata(gguf: GGUFFile(path: scratch.path))) { error in
                guard case TokenizerError.malformed(let file, let detail) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(file, scratch.path)
                XCTAssertEqual(detail, c.problem)
            }
        }
        // The same file with well-typed arrays loads.
        let good = GGUFWriter(metadata: [("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.tokens", tokens),
                                         ("tokenizer.ggml.token_type", array(type: 11, [1, 1, 1])), ("tokenizer.ggml.merges", .strings(["a b"]))])
        try Data(good.bytes()).write(to: scratch)
        XCTAssertEqual(try Tokenizer.fromGGUF(GGUFTokenizerMetadata(gguf: GGUFFile(path: scratch.path))).encode("ab"), [2])
    }

    func testUnsupportedGGUFModelsThrow() {
        XCTAssertThrowsError(try Tokenizer.fromGGUF(GGUFTokenizerMetadata(model: "bert", tokens: ["a"]))) { error in
            XCTAssertTrue("\(error)".contains("bert"), "\(error)")
        }
        XCTAssertThrowsError(try Tokenizer.fromGGUF(GGUFTokenizerMetadata(model: "gpt2", preTokenizer: "mystery", tokens: ["a"]))) { error in
            XCTAssertTrue("\(error)".contains("mystery"), "\(error)")
        }
        XCTAssertThrowsError(try Tokenizer.fromGGUF(GGUFTokenizerMetadata(model: "llama", tokens: ["a"]))) { error in
            XCTAssertTrue("\(error)".contains("scores"), "\(error)")
        }
        XCTAssertThrowsError(try Tokenizer.fromGGUF(GGUFTokenizerMetadata(model: "gpt2", tokens: ["a", "b"], merges: ["a c"]))) { error in
            XCTAssertTrue("\(error)".contains("a c"), "\(error)")
        }
        XCTAssertThrowsError(try Tokenizer.fromGGUF(GGUFTokenizerMetadata(model: "gpt2", tokens: ["a"], bosID: 5)))
    }
}
