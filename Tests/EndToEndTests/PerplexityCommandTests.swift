import Foundation
import XCTest
import TestSupport

/// The real `scalellm perplexity` on stories260K and the shipped passage: the human-readable and JSON outputs,
/// the window arithmetic (tokens scored = tokens − windows), identical numbers on a second run, and clean
/// non-zero exits for a missing file, an empty text and a context of one token.
final class PerplexityCommandTests: XCTestCase {
    private func perplexity(_ arguments: [String]) throws -> CommandOutcome {
        let outcome = try CommandRun.run(["perplexity", "--model", SharedData.storiesDirectory] + arguments)
        XCTAssertTrue(outcome.exitedInTime, "scalellm perplexity \(arguments) did not exit")
        return outcome
    }

    /// The one JSON object a `--json` run prints.
    private func jsonResult(_ arguments: [String]) throws -> [String: Any] {
        let outcome = try perplexity(arguments + ["--json"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.stdout)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    }

    func testOutputsAndWindows() throws {
        let text = try perplexity(["--file", Fixtures.perplexityPassage])
        XCTAssertEqual(text.status, 0, text.stderr)
        // "tokens scored: S of N (W window(s) of up to C tokens)"
        let first = try XCTUnwrap(text.stdout.split(separator: "\n").first).split(separator: " ")
        let scored = try XCTUnwrap(Int(first[2])), total = try XCTUnwrap(Int(first[4]))
        XCTAssertEqual(scored, total - (total + 511) / 512, "stories260K's context is 512: \(text.stdout)")
        XCTAssertTrue(text.stdout.contains("mean NLL: ") && text.stdout.contains("perplexity: "), text.stdout)

        let whole = try jsonResult(["--file", Fixtures.perplexityPassage])
        XCTAssertEqual(Set(whole.keys), ["tokens", "mean_nll", "perplexity"])
        XCTAssertEqual((whole["tokens"] as? NSNumber)?.intValue, scored)
        let meanNLL = try XCTUnwrap((whole["mean_nll"] as? NSNumber)?.doubleValue)
        let ppl = try XCTUnwrap((whole["perplexity"] as? NSNumber)?.doubleValue)
        XCTAssertEqual(ppl, exp(meanNLL), accuracy: 1e-12 * ppl)
        XCTAssertTrue(ppl > 1 && ppl < 10, "stories260K on a children's story: \(ppl)")

        let windowed = try jsonResult(["--file", Fixtures.perplexityPassage, "--context", "100"])
        XCTAssertEqual((windowed["tokens"] as? NSNumber)?.intValue, total - (total + 99) / 100)
        XCTAssertNotEqual((windowed["mean_nll"] as? NSNumber)?.doubleValue, meanNLL, "shorter windows give less context")
    }

    func testDeterministic() throws {
        let arguments = ["--file", Fixtures.perplexityPassage, "--context", "200", "--json"]
        let first = try perplexity(arguments), second = try perplexity(arguments)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, second.stdout)
    }

    func testRefusals() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-ppl-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let empty = scratch + "/empty.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))

        for (arguments, message) in [(["--file", scratch + "/missing.txt"], "cannot read --file \(scratch)/missing.txt"),
                                     (["--file", empty], "perplexity needs at least 2"),
                                     (["--file", Fixtures.perplexityPassage, "--context", "1"], "give at least 2"),
                                     (["--file", Fixtures.perplexityPassage, "--context", "513"], "context length of 512 tokens")] {
            let outcome = try perplexity(arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.stderr.contains(message), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stdout, "", "\(arguments)")
        }
    }
}
