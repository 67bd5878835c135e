import Foundation
import XCTest
import ModelFormats
import TestSupport
import Tokenizers

/// Access to the shared golden data and models (`shared/` beside the repository root; Gemma 3's tokenizer comes from
/// the GGUF in the checkout's `.cache/models/`, see `ModelCache`).
enum GoldenData {
    static let sharedDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TokenizersTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .deletingLastPathComponent()  // parent of the repository
        .appendingPathComponent("shared")

    static let stories = "stories260K"
    static let smollm = "smollm2-135m-instruct-q4_1"
    static let gemma3 = "gemma3-270m-q4_k_m"

    static func modelDirectory(_ model: String) -> URL {
        sharedDirectory.appendingPathComponent("models").appendingPathComponent(model)
    }

    static func goldenFile(_ model: String, _ name: String) -> URL {
        sharedDirectory.appendingPathComponent("golden").appendingPathComponent(model).appendingPathComponent(name)
    }

    // JSONDecoder, not JSONSerialization: the latter drops a leading U+FEFF from strings on Linux.

    struct TokenizerCase: Decodable {
        var text: String
        var ids: [Int32]
        var idsNoSpecial: [Int32]
        var tokensNoSpecial: [String]
        var decodedSkipSpecial: String
        var decodedNoSpecialKeepSpecial: String

        enum CodingKeys: String, CodingKey {
            case text, ids
            case idsNoSpecial = "ids_no_special", tokensNoSpecial = "tokens_no_special"
            case decodedSkipSpecial = "decoded_skip_special"
            case decodedNoSpecialKeepSpecial = "decoded_no_special_keep_special"
        }
    }

    struct GenerationCase: Decodable {
        var id: String
        var prompt: String
        var promptIDs: [Int32]
        var continuation: [Int32]
        var firstEOSIndex: Int?
        var expectedCompletionText: String
        /// How many leading greedy steps the text covers when the golden file limits it (Gemma 3: the steps whose
        /// top-2 logit margin is safe); nil when it runs to EOS or the end of the continuation.
        var safeSteps: Int?

        enum CodingKeys: String, CodingKey {
            case id, prompt
            case promptIDs = "prompt_token_ids", continuation = "continuation_token_ids"
            case firstEOSIndex = "first_eos_index", expectedCompletionText = "expected_completion_text"
            case safeSteps = "safe_steps"
        }
    }

    private struct CaseFile<Case: Decodable>: Decodable {
        var cases: [Case]
    }

    static func tokenizerCases(_ model: String) throws -> [TokenizerCase] {
        let data = try Data(contentsOf: goldenFile(model, "tokenizer_cases.json"))
        return try JSONDecoder().decode(CaseFile<TokenizerCase>.self, from: data).cases
    }

    static func generationCases(_ model: String) throws -> [GenerationCase] {
        let data = try Data(contentsOf: goldenFile(model, "generation.json"))
        return try JSONDecoder().decode(CaseFile<GenerationCase>.self, from: data).cases
    }

    /// Tokenizers are loaded once per process (the SmolLM one is 2 MB of JSON, Gemma 3's 262,144 pieces).
    nonisolated(unsafe) private static var loaded: [String: Tokenizer] = [:]
    private static let lock = NSLock()

    static func tokenizer(_ model: String) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = loaded[model] { return t }
        let t = model == gemma3 ? try Tokenizer.load(gguf: GGUFFile(path: ModelCache.require(ModelCache.gemma3GGUF)))
                                : try Tokenizer.load(directory: modelDirectory(model))
        loaded[model] = t
        return t
    }
}

/// Swift string literal-ish rendering of a case text for failure messages.
func show(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default:
            if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.properties.generalCategory == .format) {
                out += "\\u{\(String(u.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
