import Foundation
import XCTest
import Tokenizers

/// Loading: metadata of the real files, and clear errors for bad or unsupported input.
final class TokenizerLoadingTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokenizers-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func write(_ name: String, _ text: String) throws -> URL {
        let url = scratch.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func testStoriesMetadata() throws {
        let t = try GoldenData.tokenizer(GoldenData.stories)
        XCTAssertEqual(t.vocabularySize, 512)
        XCTAssertEqual(t.bosTokenID, 1)
        XCTAssertEqual(t.eosTokenID, 2)
        XCTAssertEqual(t.tokenString(410), "\u{2581}")
        XCTAssertEqual(t.tokenID("<0x0A>"), 13)
        XCTAssertEqual(t.tokenID("</s>"), 2)
        XCTAssertTrue(t.isSpecial(1))
        XCTAssertFalse(t.isSpecial(410))
        XCTAssertNil(t.tokenString(512))
        XCTAssertNil(t.tokenString(-1))
        XCTAssertEqual(t.decode([1, 99999, -5, 261]), "a", "unknown ids are ignored")
    }

    func testSmolLMMetadata() throws {
        let t = try GoldenData.tokenizer(GoldenData.smollm)
        XCTAssertEqual(t.vocabularySize, 49152)
        XCTAssertEqual(t.bosTokenID, 1)   // tokenizer_config: bos_token <|im_start|>
        XCTAssertEqual(t.eosTokenID, 2)   // <|im_end|>
        XCTAssertEqual(t.tokenString(216), "\u{0120}")
        XCTAssertEqual(t.tokenID("<|im_start|>"), 1)
        XCTAssertEqual(t.encode("Hello", addSpecialTokens: true), [19556], "ByteLevel post-processor adds nothing")
    }

    func testLoadWithoutConfig() throws {
        let json = GoldenData.modelDirectory(GoldenData.stories).appendingPathComponent("tokenizer.json")
        let t = try Tokenizer.load(tokenizerJSON: json, config: nil)
        XCTAssertEqual(t.encode("Once upon a time"), [1, 403, 407, 261, 378])
        XCTAssertEqual(t.bosTokenID, 1, "falls back to the post-processor's single prefix token")
        XCTAssertNil(t.eosTokenID)
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Tokenizer.load(directory: scratch)) { error in
            guard case TokenizerError.fileNotReadable(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("tokenizer.json"))
            XCTAssertTrue("\(error)".contains("tokenizer.json"))
        }
    }

    func testMalformedJSON() throws {
        let url = try write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {")
        XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: url, config: nil)) { error in
            guard case TokenizerError.malformed(let file, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "tokenizer.json")
        }
        let noModel = try write("nomodel.json", "{\"version\": \"1.0\"}")
        XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: noModel, config: nil)) { error in
            XCTAssertTrue("\(error)".contains("model"), "\(error)")
        }
        let badMerge = try write("badmerge.json", #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#)
        XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: badMerge, config: nil)) { error in
            XCTAssertTrue("\(error)".contains("\"ab\""), "\(error)")
        }
    }

    /// Ids that do not fit in Int32, or that lie beyond the ids the file defines (which would size the piece
    /// table by the largest id), are malformed-file errors naming the file and the entry.
    func testOutOfRangeIDsAreErrors() throws {
        let model = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}"#
        let cases: [(body: String, mentions: String)] = [
            (#"{\#(model), "added_tokens": [{"id": 4294967296, "content": "<x>"}]}"#, "added_tokens[0].id"),
            (#"{\#(model), "added_tokens": [{"id": 2000000000, "content": "<x>"}]}"#, "<x>"),
            (#"{\#(model), "added_tokens": [{"id": -1, "content": "<x>"}]}"#, "<x>"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 2000000000}, "merges": []}}"#, "\"b\""),
            (#"{\#(model), "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}], "special_tokens": {"<s>": {"ids": [1e12]}}}}"#, "<s>"),
            (#"{\#(model), "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}], "special_tokens": {"<s>": {"ids": [7]}}}}"#, "post-processor"),
            (#"{\#(model), "post_processor": {"type": "BertProcessing", "cls": ["a", 0], "sep": ["b", 3000000000]}}"#, "sep"),
        ]
        for (index, c) in cases.enumerated() {
            let url = try write("ids\(index).json", c.body)
            XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: url, config: nil), c.body) { error in
                guard case TokenizerError.malformed(let file, let detail) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(file, "ids\(index).json")
                XCTAssertTrue(detail.contains(c.mentions), "'\(detail)' does not mention \(c.mentions)")
            }
        }
    }

    func testUnsupportedModelTypes() throws {
        for type in ["WordPiece", "Unigram", "WordLevel"] {
            let vocab = type == "Unigram" ? #"[["a", -1.0]]"# : #"{"a": 0}"#
            let url = try write("\(type).json", #"{"model": {"type": "\#(type)", "vocab": \#(vocab)}}"#)
            XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: url, config: nil)) { error in
                guard case TokenizerError.unsupported(let file, let feature) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(file, "\(type).json")
                XCTAssertTrue(feature.contains(type), feature)
            }
        }
        let url = try write("pre.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}}"#)
        XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: url, config: nil)) { error in
            XCTAssertTrue("\(error)".contains("\\w+"), "\(error)")
        }
    }

    /// A tokenizer built from a small hand-written file: merges as arrays, unk fusing, BOS/EOS
    /// from tokenizer_config when there is no post-processor.
    func testSmallHandWrittenTokenizer() throws {
        let json = try write("tokenizer.json", #"""
        {"model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true,
                   "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 3, "b": 4, "ab": 5, "c": 6, "abc": 7},
                   "merges": [["a", "b"], ["ab", "c"]]},
         "added_tokens": [{"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}]}
        """#)
        let config = try write("tokenizer_config.json", #"{"add_bos_token": true, "add_eos_token": true, "bos_token": {"content": "<s>"}, "eos_token": "</s>"}"#)
        let t = try Tokenizer.load(tokenizerJSON: json, config: config)
        XCTAssertEqual(t.encode("abcab"), [1, 7, 5, 2])
        XCTAssertEqual(t.encode("abxyzc", addSpecialTokens: false), [5, 0, 6], "unknown characters fuse into one <unk>")
        XCTAssertEqual(t.encode("a</s>b", addSpecialTokens: false), [3, 2, 4])
        XCTAssertEqual(t.decode([1, 7, 2]), "abc", "no decoder: pieces joined")
        XCTAssertEqual(t.bosTokenID, 1)
        XCTAssertEqual(t.eosTokenID, 2)
    }

    /// lstrip / rstrip / single_word on added tokens, as HF applies them.
    func testAddedTokenFlags() throws {
        let json = try write("tokenizer.json", #"""
        {"model": {"type": "BPE", "vocab": {" ": 0, "x": 1, "y": 2}, "merges": []},
         "added_tokens": [
           {"id": 3, "content": "<L>", "special": true, "lstrip": true},
           {"id": 4, "content": "<R>", "special": true, "rstrip": true},
           {"id": 5, "content": "w", "special": false, "single_word": true, "normalized": false},
           {"id": 6, "content": "<RR>", "special": true}]}
        """#)
        let t = try Tokenizer.load(tokenizerJSON: json, config: nil)
        XCTAssertEqual(t.encode("x  <L>y"), [1, 3, 2])
        XCTAssertEqual(t.encode("x<R>  y"), [1, 4, 2])
        XCTAssertEqual(t.encode("x <RR> y"), [1, 0, 6, 0, 2], "longest match wins over <R>")
        XCTAssertEqual(t.encode("x w y"), [1, 0, 5, 0, 2])
        XCTAssertEqual(t.encode("xw"), [1], "single_word: no match inside a word; w is not in the vocab")
        XCTAssertEqual(t.decode([1, 3, 5, 2]), "x w y", "special tokens skipped, pieces joined with spaces")
        XCTAssertEqual(t.decode([1, 3, 5, 2], skipSpecialTokens: false), "x <L> w y")
    }
}
