import Foundation
import XCTest
import Tokenizers

/// Pipeline components the two shipped models do not use (Llama-3 / Qwen-2 split regexes,
/// `ignore_merges`, ByteLevel prefix space, digit runs, Metaspace, NFKC + Lowercase, added-token
/// lstrip / rstrip / single_word / normalized) and decoding
/// of arbitrary id sequences, checked against HF tokenizers 0.23.3 outputs in `VariantFixtures.swift`.
/// Each variant is the shared tokenizer.json with the edits below (mirrored in the generator).
final class VariantTests: XCTestCase {
    private struct Fixtures: Decodable {
        struct Variant: Decodable {
            var ids: [[Int32]]
            var decoded: [String]
        }
        struct DecodeCase: Decodable {
            var ids: [Int32]
            var skip: String
            var keep: String
        }
        var texts: [String]
        var variants: [String: Variant]
        var decode: [String: [DecodeCase]]
    }

    private static let fixtures: Fixtures = try! JSONDecoder().decode(Fixtures.self, from: Data(variantFixturesJSON.utf8))

    private static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    private static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    private static func byteLevel(prefix: Bool, regex: Bool) -> [String: Any] {
        ["type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": true, "use_regex": regex]
    }

    private static func split(_ regex: String) -> [String: Any] {
        ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false]
    }

    /// Applies the variant's edits to the shared tokenizer.json and loads the result.
    /// (JSONSerialization is safe here: neither vocabulary has a piece starting with U+FEFF.)
    private func load(_ variant: String) throws -> Tokenizer {
        let smollm = ["llama3", "qwen2", "gpt2_prefix_space", "digit_runs", "added_flags"].contains(variant)
        let source = GoldenData.modelDirectory(smollm ? GoldenData.smollm : GoldenData.stories)
            .appendingPathComponent("tokenizer.json")
        var t = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        switch variant {
        case "llama3":
            t["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [Self.split(Self.llama3Regex), Self.byteLevel(prefix: false, regex: false)]]
            var model = try XCTUnwrap(t["model"] as? [String: Any])
            model["ignore_merges"] = true
            t["model"] = model
            t["post_processor"] = ["type": "Sequence", "processors": [
                ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
                ["type": "TemplateProcessing",
                 "single": [["SpecialToken": ["id": "<|im_start|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                 "pair": [["Sequence": ["id": "A", "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]]],
                 "special_tokens": ["<|im_start|>": ["id": "<|im_start|>", "ids": [1], "tokens": ["<|im_start|>"]]]],
            ] as [Any]]
        case "qwen2":
            t["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [Self.split(Self.qwen2Regex), Self.byteLevel(prefix: false, regex: false)]]
        case "gpt2_prefix_space":
            t["pre_tokenizer"] = Self.byteLevel(prefix: true, regex: true)
        case "digit_runs":
            t["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": false], Self.byteLevel(prefix: false, regex: true)]]
        case "metaspace_first":
            t["normalizer"] = NSNull()
            t["pre_tokenizer"] = ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false]
            t["decoder"] = ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false]
        case "metaspace_split":
            t["normalizer"] = NSNull()
            t["pre_tokenizer"] = ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true]
        case "added_flags":
            var added = try XCTUnwrap(t["added_tokens"] as? [[String: Any]])
            func token(_ id: Int, _ content: String, lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false,
                       normalized: Bool = false, special: Bool) -> [String: Any] {
                ["id": id, "content": content, "single_word": singleWord, "lstrip": lstrip, "rstrip": rstrip,
                 "normalized": normalized, "special": special]
            }
            added += [token(49152, "<L>", lstrip: true, special: true), token(49153, "<R>", rstrip: true, special: true),
                      token(49154, "qzx", singleWord: true, special: false), token(49155, " spaced", normalized: true, special: false),
                      token(49156, "<LR>", lstrip: true, rstrip: true, special: false), token(49157, "\u{e9}<x>", special: false)]
            t["added_tokens"] = added
        case "normalized_added":
            var added = try XCTUnwrap(t["added_tokens"] as? [[String: Any]])
            added += [["id": 512, "content": "hello", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false],
                      ["id": 513, "content": "<tag>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true]]
            t["added_tokens"] = added
        case "nfkc_lowercase":
            let old = try XCTUnwrap((t["normalizer"] as? [String: Any])?["normalizers"] as? [Any])
            t["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFKC"], ["type": "Lowercase"]] + old]
        default:
            XCTFail("unknown variant \(variant)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-variant-\(variant)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: t).write(to: url)
        return try Tokenizer.load(tokenizerJSON: url, config: nil)
    }

    private func check(_ variant: String) throws {
        let tokenizer = try load(variant)
        let expected = try XCTUnwrap(Self.fixtures.variants[variant])
        let texts = Self.fixtures.texts
        XCTAssertEqual(expected.ids.count, texts.count)
        var passed = 0
        for (i, text) in texts.enumerated() {
            let ids = tokenizer.encode(text)
            let decoded = tokenizer.decode(expected.ids[i], skipSpecialTokens: false)
            if ids == expected.ids[i] && decoded == expected.decoded[i] {
                passed += 1
            } else {
                XCTFail("\(variant) \(show(text)): ids \(ids) expected \(expected.ids[i]); decoded \(show(decoded)) expected \(show(expected.decoded[i]))")
            }
        }
        XCTAssertEqual(passed, texts.count, "\(variant): \(passed)/\(texts.count)")
    }

    func testLlama3SplitWithIgnoreMerges() throws { try check("llama3") }
    func testQwen2Split() throws { try check("qwen2") }
    func testByteLevelPrefixSpace() throws { try check("gpt2_prefix_space") }
    func testDigitRuns() throws { try check("digit_runs") }
    func testMetaspaceFirst() throws { try check("metaspace_first") }
    func testMetaspaceSplit() throws { try check("metaspace_split") }
    func testNFKCLowercase() throws { try check("nfkc_lowercase") }
    func testAddedTokenFlags() throws { try check("added_flags") }
    func testNormalizedAddedTokens() throws { try check("normalized_added") }

    /// Arbitrary id sequences: invalid byte runs, specials in the middle, partial UTF-8.
    func testDecodeArbitraryIDs() throws {
        for model in [GoldenData.stories, GoldenData.smollm] {
            let tokenizer = try GoldenData.tokenizer(model)
            for c in try XCTUnwrap(Self.fixtures.decode[model]) {
                XCTAssertEqual(tokenizer.decode(c.ids, skipSpecialTokens: true), c.skip, "\(model) \(c.ids) skip")
                XCTAssertEqual(tokenizer.decode(c.ids, skipSpecialTokens: false), c.keep, "\(model) \(c.ids) keep")
            }
        }
    }
}
