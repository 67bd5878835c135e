import Foundation
import FoundationXML
import XCTest
@testable import ServingBenchmark

/// The markdown tables, the JSON report, the SVG chart and the comparison.
final class OutputFormatTests: XCTestCase {
    func testLatencyTableIsLaidOutLikeThePaper() {
        let table = MarkdownTable.latency(ReportFixtures.report())
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[0], "| concurrent requests | TTFT mean (ms) | TTFT p50 | TTFT p90 | TTFT p99 | TBT mean (ms) | TBT p50 | TBT p90 | TBT p99 |")
        XCTAssertEqual(lines[1], "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        XCTAssertEqual(lines[2], "| 1 | 50.0 | 50.0 | 50.0 | 50.0 | 20.0 | 20.0 | 20.0 | 20.0 |")
        XCTAssertEqual(lines[3], "| 2 | 100.0 | 100.0 | 100.0 | 100.0 | 30.0 | 30.0 | 30.0 | 30.0 |")
        XCTAssertEqual(lines[4], "| 4 |" + String(repeating: " Timeout |", count: 8))
        for line in lines { XCTAssertEqual(line.filter { $0 == "|" }.count, 10, line) }
    }

    func testThroughputTableHasEveryLevelAndGoodput() {
        let table = MarkdownTable.throughput(ReportFixtures.report())
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5)
        XCTAssertTrue(lines[0].hasPrefix("| concurrent requests | requests | errors | output tokens/s | requests/s | E2E mean (s)"))
        XCTAssertTrue(lines[0].hasSuffix("| goodput (req/s) | good requests |"))
        // Level 1: 4 requests × 8 tokens in 2 s; all meet TTFT ≤ 200 ms and TBT ≤ 50 ms.
        XCTAssertTrue(lines[2].hasPrefix("| 1 | 4 | 0 | 16.0 | 2.00 |"), lines[2])
        XCTAssertTrue(lines[2].hasSuffix("| 2.00 | 4 (100%) |"), lines[2])
        let columns = lines[0].filter { $0 == "|" }.count
        for line in lines { XCTAssertEqual(line.filter { $0 == "|" }.count, columns, line) }
    }

    func testJSONRoundTrip() throws {
        let report = ReportFixtures.report()
        let data = try report.jsonData()
        let decoded = try BenchmarkReport.decode(data)
        XCTAssertEqual(decoded, report)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["formatVersion"] as? Int, 1)
        let levels = try XCTUnwrap(object["levels"] as? [[String: Any]])
        XCTAssertEqual(levels.count, 3)
        let ttft = try XCTUnwrap(levels[0]["timeToFirstToken"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(ttft["p99"] as? Double), 0.05, accuracy: 1e-12)
        XCTAssertEqual(levels[2]["timedOut"] as? Bool, true)
    }

    func testSVGIsWellFormedWithPolylinesAxesAndLegend() throws {
        let svg = SVGChart.render(ReportFixtures.report())
        let collector = SVGCollector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG does not parse: \(String(describing: parser.parserError))\n\(svg)")
        XCTAssertEqual(collector.elements.first, "svg")
        XCTAssertEqual(collector.rootAttributes["xmlns"], "http://www.w3.org/2000/svg")
        // Three panels; TTFT and TBT have mean/p50/p99 lines, throughput one: 7 polylines over levels 1 and 2
        // (level 4 timed out, so it has no point).
        XCTAssertEqual(collector.elements.filter { $0 == "polyline" }.count, 7)
        XCTAssertEqual(collector.elements.filter { $0 == "circle" }.count, 14)
        XCTAssertTrue(collector.texts.contains("Time to first token"))
        XCTAssertTrue(collector.texts.contains("Time between tokens"))
        XCTAssertTrue(collector.texts.contains("Throughput"))
        XCTAssertTrue(collector.texts.contains("concurrent requests"))
        XCTAssertTrue(collector.texts.contains("p99"))
        XCTAssertTrue(collector.texts.contains("Timeout"))
        XCTAssertTrue(collector.texts.contains { $0.contains("stories <260K> & co") }, "the title's special characters are escaped")
        for point in collector.polylinePoints {
            let pairs = point.split(separator: " ")
            XCTAssertEqual(pairs.count, 2)
            for pair in pairs { XCTAssertEqual(pair.split(separator: ",").compactMap { Double($0) }.count, 2, String(pair)) }
        }
    }

    func testNiceScale() {
        XCTAssertEqual(SVGChart.niceScale(0).max, 1)
        XCTAssertEqual(SVGChart.niceScale(87).max, 100)
        XCTAssertEqual(SVGChart.niceScale(87).step, 20)
        XCTAssertEqual(SVGChart.niceScale(0.034).step, 0.01, accuracy: 1e-15)
        XCTAssertEqual(SVGChart.niceScale(0.034).max, 0.04, accuracy: 1e-15)
    }

    func testComparisonRatios() throws {
        let baseline = ReportFixtures.report(label: "before")
        let current = ReportFixtures.report(label: "after", scale: 0.5)
        let comparison = Comparison(current: current, baseline: baseline)
        XCTAssertEqual(comparison.rows.count, 3)
        let first = comparison.rows[0]
        XCTAssertEqual(try XCTUnwrap(first.ttftMean), 0.5, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(first.ttftP99), 0.5, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(first.tbtP50), 0.5, accuracy: 1e-9)
        // Same tokens over the same 2 s: throughput ratio 1.
        XCTAssertEqual(try XCTUnwrap(first.outputTokensPerSecond), 1, accuracy: 1e-9)
        XCTAssertNil(comparison.rows[2].ttftP50)
        XCTAssertTrue(comparison.rows[2].timedOut.current && comparison.rows[2].timedOut.baseline)
        let lines = comparison.markdown.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].contains("after ÷ before"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("| 1 | 0.50× | 0.50× | 0.50× | 0.50× | 0.50× | 0.50× |") })
        XCTAssertTrue(lines.contains("| 4 |" + String(repeating: " Timeout (both) |", count: 9)))
    }

    func testComparisonMatchesLevelsByConcurrency() {
        var other = ReportFixtures.report(label: "other")
        other.levels.removeFirst()
        let comparison = Comparison(current: ReportFixtures.report(), baseline: other)
        XCTAssertEqual(comparison.rows.map(\.concurrency), [2, 4])
        XCTAssertEqual(comparison.differences, [])
    }

    func testComparisonNamesDifferingSettings() {
        var other = ReportFixtures.report(label: "other")
        other.configuration.maxTokens = 64
        other.configuration.requestRate = 2
        let comparison = Comparison(current: ReportFixtures.report(), baseline: other)
        XCTAssertEqual(comparison.differences, ["max tokens: 8 vs 64", "request rate: none vs 2"])
        XCTAssertTrue(comparison.markdown.contains("Settings differ: max tokens: 8 vs 64; request rate: none vs 2."))
    }
}

/// Records the element names, root attributes, text and polyline points of a parsed SVG.
final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var rootAttributes: [String: String] = [:]
    var texts: [String] = []
    var polylinePoints: [String] = []
    private var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elements.isEmpty { rootAttributes = attributes }
        elements.append(name)
        if name == "polyline", let points = attributes["points"] { polylinePoints.append(points) }
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(text) }
        text = ""
    }
}
