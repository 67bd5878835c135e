import Foundation
import FoundationXML
import TestSupport
import XCTest
@testable import ServingBenchmark

/// The benchmark against the real `scalellm serve` on stories260K: two small levels, usage-based token counts,
/// and the JSON and SVG files it writes.
final class ServeBenchmarkEndToEndTests: XCTestCase {
    func testBenchmarkAgainstRealServer() throws {
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.storiesDirectory, "--port", "0", "--kv-cache-memory", "8MiB"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-bench-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let settings = BenchmarkSettings(
            label: "e2e", client: .init(url: ServerURL(host: "127.0.0.1", port: port), requestTimeout: 60),
            template: RequestTemplate(endpoint: .completions, maxTokens: 8, temperature: 0, ignoreEOS: true),
            prompts: .synthetic(words: 16, seed: 0), concurrencies: [1, 2], requestCount: 4, seed: 0)
        let runner = BenchmarkRunner(settings)
        try runner.prepare()
        XCTAssertNotNil(runner.settings.template.model, "the model name comes from /v1/models")
        let progressCount = ProgressCounter()
        var finishedLevels: [Int] = []
        let report = runner.run(progress: { _ in progressCount.increment() }, levelFinished: { finishedLevels.append($0.concurrency) })
        XCTAssertEqual(finishedLevels, [1, 2])
        XCTAssertEqual(progressCount.value, 8)

        XCTAssertEqual(report.levels.map(\.concurrency), [1, 2])
        for level in report.levels {
            XCTAssertEqual(level.requestCount, 4)
            XCTAssertEqual(level.errorCount, 0, "\(level.sampleErrors)")
            XCTAssertFalse(level.timedOut)
            XCTAssertEqual(level.outputTokens, 32)
            XCTAssertEqual(level.missingUsageCount, 0)
            for request in level.requests {
                XCTAssertEqual(request.completionTokens, 8, "usage.completion_tokens")
                XCTAssertGreaterThan(request.promptTokens ?? 0, 0)
                XCTAssertFalse(request.tokenChunkTimes.isEmpty)
                XCTAssertLessThanOrEqual(request.sendTime, request.tokenChunkTimes[0])
                XCTAssertLessThanOrEqual(request.tokenChunkTimes.last!, request.endTime)
            }
            XCTAssertNotNil(level.timeToFirstToken)
            XCTAssertEqual(level.timeBetweenTokens?.count, 4)
            XCTAssertGreaterThan(level.outputTokensPerSecond, 0)
        }

        let jsonURL = scratch.appendingPathComponent("bench.json"), svgURL = scratch.appendingPathComponent("bench.svg")
        try report.jsonData().write(to: jsonURL)
        try Data(SVGChart.render(report).utf8).write(to: svgURL)
        let decoded = try BenchmarkReport.decode(Data(contentsOf: jsonURL))
        XCTAssertEqual(decoded, report)
        let parser = try XCTUnwrap(XMLParser(contentsOf: svgURL))
        let collector = SVGCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "\(String(describing: parser.parserError))")
        XCTAssertEqual(collector.elements.filter { $0 == "polyline" }.count, 7)
        XCTAssertTrue(MarkdownTable.render(report).contains("| 2 | "))

        XCTAssertEqual(server.stop(), 0, server.stderrText)
    }
}

/// A counter the benchmark's user threads increment.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
