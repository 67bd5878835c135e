import Foundation

/// Ratios between two runs (this run ÷ a baseline: an earlier run, or another server) at every concurrency level
/// both ran; settings that differ between the runs (output length, prompts, arrivals…) are listed as a caveat. Below 1× a latency ratio means this run is faster; above 1× a throughput
/// ratio means it serves more. A level that timed out (or had no figure) on either side has no ratio.
public struct Comparison: Sendable {
    /// The ratios at one level; nil where either side has no figure.
    public struct Row: Equatable, Sendable {
        public var concurrency: Int
        public var timedOut: (current: Bool, baseline: Bool)
        public var ttftMean: Double?
        public var ttftP50: Double?
        public var ttftP99: Double?
        public var tbtMean: Double?
        public var tbtP50: Double?
        public var tbtP99: Double?
        public var e2eP50: Double?
        public var outputTokensPerSecond: Double?
        public var requestsPerSecond: Double?

        public static func == (a: Row, b: Row) -> Bool {
            a.concurrency == b.concurrency && a.timedOut == b.timedOut && a.ttftMean == b.ttftMean && a.ttftP50 == b.ttftP50
                && a.ttftP99 == b.ttftP99 && a.tbtMean == b.tbtMean && a.tbtP50 == b.tbtP50 && a.tbtP99 == b.tbtP99
                && a.e2eP50 == b.e2eP50 && a.outputTokensPerSecond == b.outputTokensPerSecond
                && a.requestsPerSecond == b.requestsPerSecond
        }
    }

    public var currentLabel: String
    public var baselineLabel: String
    public var rows: [Row]
    /// Settings that differ between the runs, as "name: current vs baseline".
    public var differences: [String]

    public init(current: BenchmarkReport, baseline: BenchmarkReport) {
        currentLabel = current.configuration.label
        baselineLabel = baseline.configuration.label
        let a = current.configuration, b = baseline.configuration
        func describe(_ value: Double?) -> String { value.map { String(format: "%g", $0) } ?? "none" }
        differences = [
            ("endpoint", a.endpoint, b.endpoint), ("model", a.model ?? "none", b.model ?? "none"),
            ("max tokens", "\(a.maxTokens)", "\(b.maxTokens)"), ("prompts", a.prompts, b.prompts),
            ("request rate", describe(a.requestRate), describe(b.requestRate)),
            ("duration", describe(a.durationSeconds), describe(b.durationSeconds)),
            ("ignore EOS", "\(a.ignoreEOS)", "\(b.ignoreEOS)"), ("temperature", describe(a.temperature), describe(b.temperature)),
        ].filter { $0.1 != $0.2 }.map { "\($0.0): \($0.1) vs \($0.2)" }
        rows = current.levels.compactMap { level in
            guard let base = baseline.levels.first(where: { $0.concurrency == level.concurrency }) else {
                return nil
            }
            let usable = !level.timedOut && !base.timedOut
            func ratio(_ a: Double?, _ b: Double?) -> Double? {
                guard usable, let a, let b, b > 0, a.isFinite else { return nil }
                return a / b
            }
            return Row(concurrency: level.concurrency, timedOut: (level.timedOut, base.timedOut),
                       ttftMean: ratio(level.timeToFirstToken?.mean, base.timeToFirstToken?.mean),
                       ttftP50: ratio(level.timeToFirstToken?.p50, base.timeToFirstToken?.p50),
                       ttftP99: ratio(level.timeToFirstToken?.p99, base.timeToFirstToken?.p99),
                       tbtMean: ratio(level.timeBetweenTokens?.mean, base.timeBetweenTokens?.mean),
                       tbtP50: ratio(level.timeBetweenTokens?.p50, base.timeBetweenTokens?.p50),
                       tbtP99: ratio(level.timeBetweenTokens?.p99, base.timeBetweenTokens?.p99),
                       e2eP50: ratio(level.endToEndLatency?.p50, base.endToEndLatency?.p50),
                       outputTokensPerSecond: ratio(level.outputTokensPerSecond, base.outputTokensPerSecond),
                       requestsPerSecond: ratio(level.requestsPerSecond, base.requestsPerSecond))
        }
    }

    /// A markdown table of the ratios, headed by what is divided by what.
    public var markdown: String {
        var lines = [
            "Ratios \(currentLabel) ÷ \(baselineLabel) (latency below 1× and throughput above 1× favour \(currentLabel)):",
            "",
            "| concurrent requests | TTFT mean | TTFT p50 | TTFT p99 | TBT mean | TBT p50 | TBT p99 | E2E p50 | output tokens/s | requests/s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows {
            var cells = ["\(row.concurrency)"]
            if row.timedOut.current || row.timedOut.baseline {
                let who = row.timedOut.current && row.timedOut.baseline ? "Timeout (both)"
                    : row.timedOut.current ? "Timeout (\(currentLabel))" : "Timeout (\(baselineLabel))"
                cells += Array(repeating: who, count: 9)
            } else {
                cells += [row.ttftMean, row.ttftP50, row.ttftP99, row.tbtMean, row.tbtP50, row.tbtP99, row.e2eP50,
                          row.outputTokensPerSecond, row.requestsPerSecond].map { $0.map { String(format: "%.2f×", $0) } ?? "—" }
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        if rows.isEmpty { lines.append("(no concurrency level in common)") }
        if !differences.isEmpty { lines += ["", "Settings differ: " + differences.joined(separator: "; ") + "."] }
        return lines.joined(separator: "\n") + "\n"
    }
}
