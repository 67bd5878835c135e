import Foundation

/// The report as markdown. `latency` is laid out like the paper's table — one row per number of concurrent
/// requests, TTFT and TBT columns (mean, p50, p90, p99 in milliseconds), "Timeout" across a row that the timeout
/// rule marks — and `throughput` adds output tokens/s, requests/s, errors, end-to-end latency, inter-token latency
/// and, when objectives are set, goodput.
public enum MarkdownTable {
    /// Both tables, separated by a blank line.
    public static func render(_ report: BenchmarkReport) -> String {
        latency(report) + "\n" + throughput(report)
    }

    /// Rows: concurrent requests; columns: TTFT and TBT in milliseconds.
    public static func latency(_ report: BenchmarkReport) -> String {
        var lines = [
            "| concurrent requests | TTFT mean (ms) | TTFT p50 | TTFT p90 | TTFT p99 | TBT mean (ms) | TBT p50 | TBT p90 | TBT p99 |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for level in report.levels {
            if level.timedOut {
                lines.append("| \(level.concurrency) |" + String(repeating: " Timeout |", count: 8))
            } else {
                lines.append("| \(level.concurrency) | " + (quartet(level.timeToFirstToken) + quartet(level.timeBetweenTokens))
                    .joined(separator: " | ") + " |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Rows: concurrent requests; columns: request counts, throughput, end-to-end and inter-token latency, goodput.
    public static func throughput(_ report: BenchmarkReport) -> String {
        let goodput = report.levels.contains { $0.goodRequestCount != nil }
        var header = "| concurrent requests | requests | errors | output tokens/s | requests/s | E2E mean (s) | E2E p50 | E2E p90 | E2E p99 "
            + "| ITL mean (ms) | ITL p50 | ITL p90 | ITL p99 |"
        var rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        if goodput {
            header += " goodput (req/s) | good requests |"
            rule += "---:|---:|"
        }
        var lines = [header, rule]
        for level in report.levels {
            var cells = ["\(level.concurrency)"]
            if level.skipped {
                cells += ["—", "—", "Timeout (not run)"] + Array(repeating: "—", count: 9 + (goodput ? 2 : 0))
            } else {
                cells += ["\(level.requestCount)", "\(level.errorCount)", fixed(level.outputTokensPerSecond, 1),
                          fixed(level.requestsPerSecond, 2)]
                let e2e = level.endToEndLatency
                cells += [e2e?.mean, e2e?.p50, e2e?.p90, e2e?.p99].map { $0.map { fixed($0, 2) } ?? "—" }
                cells += quartet(level.interTokenLatency)
                if goodput {
                    cells.append(level.goodputRequestsPerSecond.map { fixed($0, 2) } ?? "—")
                    if let good = level.goodRequestCount, let share = level.goodputFraction {
                        cells.append("\(good) (\(fixed(share * 100, 0))%)")
                    } else {
                        cells.append("—")
                    }
                }
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean, p50, p90, p99 in milliseconds with one decimal, or dashes.
    static func quartet(_ summary: LatencySummary?) -> [String] {
        guard let s = summary else { return ["—", "—", "—", "—"] }
        return [s.mean, s.p50, s.p90, s.p99].map { fixed($0 * 1000, 1) }
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
