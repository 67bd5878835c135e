import Foundation
import XCTest
import Tokenizers

/// `golden/*/generation.json`: prompt encodings and the streamed completion text.
final class GoldenGenerationTests: XCTestCase {
    func testStoriesPromptsAndStreaming() throws {
        try Self.check(GoldenData.stories)
    }

    func testSmolLMPromptsAndStreaming() throws {
        try Self.check(GoldenData.smollm)
    }

    /// The prompt ids of every generation case of `model`, and its greedy continuation streamed token by token and in
    /// batches (up to EOS, and within `safe_steps` where the file gives them).
    static func check(_ model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tokenizer = try GoldenData.tokenizer(model)
        let cases = try GoldenData.generationCases(model)
        XCTAssertFalse(cases.isEmpty, file: file, line: line)
        for c in cases {
            XCTAssertEqual(tokenizer.encode(c.prompt), c.promptIDs, "\(model) \(c.id): prompt ids", file: file, line: line)

            let generated = Array(c.continuation.prefix(min(c.firstEOSIndex ?? c.continuation.count,
                                                            c.safeSteps ?? c.continuation.count)))
            // One token at a time.
            var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: c.promptIDs)
            var chunks: [String] = []
            for id in generated { chunks.append(detokenizer.append([id])) }
            chunks.append(detokenizer.finish())
            XCTAssertEqual(chunks.joined(), c.expectedCompletionText, "\(model) \(c.id): streamed text", file: file, line: line)
            for chunk in chunks {
                XCTAssertFalse(chunk.unicodeScalars.contains("\u{FFFD}"),
                               "\(model) \(c.id): emitted a partial character in \(show(chunk))", file: file, line: line)
            }

            // Several tokens at a time.
            var batched = IncrementalDetokenizer(tokenizer: tokenizer, promptIDs: c.promptIDs)
            var text = ""
            var index = 0
            var size = 1
            while index < generated.count {
                let end = min(index + size, generated.count)
                text += batched.append(Array(generated[index..<end]))
                index = end
                size = size % 3 + 1
            }
            text += batched.finish()
            XCTAssertEqual(text, c.expectedCompletionText, "\(model) \(c.id): streamed text (batched)", file: file, line: line)

            // Also the reference definition: decode(prompt + continuation) minus decode(prompt).
            let full = tokenizer.decode(c.promptIDs + generated)
            let prompt = tokenizer.decode(c.promptIDs)
            XCTAssertEqual(String(full.unicodeScalars.dropFirst(prompt.unicodeScalars.count)), c.expectedCompletionText,
                           "\(model) \(c.id): full decode", file: file, line: line)
        }
    }
}
