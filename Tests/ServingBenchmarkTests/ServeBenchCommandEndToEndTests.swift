import Foundation
import FoundationXML
import TestSupport
import XCTest
@testable import ServingBenchmark

/// The real `scalellm bench serve` executable against a real `scalellm serve` on stories260K, run twice as a user
/// would: a count-bounded run writing JSON and SVG, then a duration-bounded run with Poisson arrivals, a prompts
/// file and a TTFT objective, compared with the first.
final class ServeBenchCommandEndToEndTests: XCTestCase {
    func testBenchServeCommandWritesReportsAndComparesRuns() throws {
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.storiesDirectory, "--port", "0", "--kv-cache-memory", "8MiB"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-bench-cli-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let first = scratch.appendingPathComponent("a.json"), chart = scratch.appendingPathComponent("a.svg")
        let second = scratch.appendingPathComponent("b.json"), prompts = scratch.appendingPathComponent("f.txt")
        try Data("Once upon a time\n{\"prompt\": \"The little dog\"}\n\nLily went to the park\n".utf8).write(to: prompts)
        let url = "http://127.0.0.1:\(port)"

        let counted = try CommandRun.run(["bench", "serve", "--url", url, "--concurrency", "1,2", "--num-requests", "4", "--max-tokens", "8",
                                          "--random-input-len", "16", "--output-json", first.path, "--output-svg", chart.path])
        XCTAssertTrue(counted.exitedInTime)
        XCTAssertEqual(counted.status, 0, counted.stderr)
        let report = try BenchmarkReport.decode(Data(contentsOf: first))
        XCTAssertEqual(report.levels.map(\.concurrency), [1, 2])
        XCTAssertEqual(report.levels.map(\.requestCount), [4, 4])
        XCTAssertEqual(report.levels.map(\.errorCount), [0, 0], "\(report.levels.map(\.sampleErrors))")
        XCTAssertEqual(report.levels.map(\.outputTokens), [32, 32])
        let parser = try XCTUnwrap(XMLParser(contentsOf: chart))
        let collector = SVGCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "\(String(describing: parser.parserError))")
        XCTAssertEqual(collector.elements.first, "svg")
        XCTAssertTrue(counted.stdout.contains("| concurrent requests | TTFT mean (ms) |"), counted.stdout)
        XCTAssertTrue(counted.stdout.contains("| concurrent requests | requests | errors | output tokens/s |"), counted.stdout)
        for level in [1, 2] { XCTAssertTrue(counted.stdout.contains("\n| \(level) | 4 | 0 | "), counted.stdout) }
        assertOneProgressLinePerLevel(counted.stderr, levels: [1, 2], announcing: "4 requests")

        let timed = try CommandRun.run(["bench", "serve", "--url", url, "--concurrency", "1,2", "--duration", "2", "--request-rate", "4",
                                        "--prompts", prompts.path, "--max-tokens", "8", "--slo-ttft", "500", "--compare", first.path,
                                        "--output-json", second.path])
        XCTAssertTrue(timed.exitedInTime)
        XCTAssertEqual(timed.status, 0, timed.stderr)
        let timedReport = try BenchmarkReport.decode(Data(contentsOf: second))
        XCTAssertEqual(timedReport.configuration.durationSeconds, 2)
        XCTAssertEqual(timedReport.configuration.requestRate, 4)
        XCTAssertEqual(timedReport.configuration.prompts, "3 prompts from a file")
        for level in timedReport.levels {
            XCTAssertGreaterThan(level.requestCount, 0)
            XCTAssertEqual(level.errorCount, 0, "\(level.sampleErrors)")
            XCTAssertNotNil(level.goodRequestCount, "--slo-ttft sets a goodput objective")
        }
        XCTAssertTrue(timed.stdout.contains("2 s per level; Poisson arrivals 4.00 req/s"), timed.stdout)
        XCTAssertTrue(timed.stdout.contains("| goodput (req/s) | good requests |"), timed.stdout)
        XCTAssertTrue(timed.stdout.contains("Ratios \(url) ÷ \(url)"), timed.stdout)
        XCTAssertTrue(timed.stdout.contains("| concurrent requests | TTFT mean | TTFT p50 |"), timed.stdout)
        for level in [1, 2] { XCTAssertNotNil(timed.stdout.range(of: "\n\\| \(level) \\| [0-9.]+× \\| ", options: .regularExpression), timed.stdout) }
        XCTAssertTrue(timed.stdout.contains("Settings differ: prompts: 3 prompts from a file vs random input of 16 words"), timed.stdout)
        assertOneProgressLinePerLevel(timed.stderr, levels: [1, 2], announcing: "2 s, Poisson 4.00 req/s")

        XCTAssertEqual(server.stop(), 0, server.stderrText)
    }

    /// With stderr not a terminal, each level prints one line when it starts (`announcing` its bound) and one
    /// summary line when it ends.
    private func assertOneProgressLinePerLevel(_ stderr: String, levels: [Int], announcing: String,
                                               file: StaticString = #filePath, line: UInt = #line) {
        let lines = stderr.split(separator: "\n")
        for level in levels {
            let prefix = "concurrency \(level): "
            XCTAssertEqual(lines.filter { $0 == prefix + announcing + "…" }.count, 1, "start of level \(level):\n\(stderr)", file: file, line: line)
            XCTAssertEqual(lines.filter { $0.hasPrefix(prefix) && $0.contains(" errors, ") }.count, 1, "summary of level \(level):\n\(stderr)",
                           file: file, line: line)
        }
    }
}
