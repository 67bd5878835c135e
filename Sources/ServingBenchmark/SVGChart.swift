import Foundation

/// The report as a standalone SVG document drawn by hand (no plotting library): three panels side by side —
/// TTFT vs concurrency, TBT vs concurrency (mean, p50 and p99 in milliseconds) and output tokens/s vs concurrency —
/// each with axes, ticks, a legend and one polyline per series. The x axis is logarithmic in the number of
/// concurrent requests (levels are usually powers of two). Levels marked Timeout have no points and are flagged
/// "Timeout" under the axis.
public enum SVGChart {
    /// One line of a panel: a y value (or nil: no point) per level.
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var values: [Double?]
        public init(name: String, color: String, values: [Double?]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    /// One chart: a title, the y unit and its series over the shared x values.
    public struct Panel: Sendable {
        public var title: String
        public var yLabel: String
        public var series: [Series]
        public init(title: String, yLabel: String, series: [Series]) {
            self.title = title
            self.yLabel = yLabel
            self.series = series
        }
    }

    static let panelWidth = 400.0, panelHeight = 320.0, headerHeight = 36.0
    static let margin = (left: 62.0, right: 16.0, top: 34.0, bottom: 58.0)

    /// The SVG for a report.
    public static func render(_ report: BenchmarkReport) -> String {
        let levels = report.levels
        let x = levels.map { Double($0.concurrency) }
        let timedOut = levels.map(\.timedOut)
        func latency(_ key: KeyPath<LevelResult, LatencySummary?>, _ stat: KeyPath<LatencySummary, Double>) -> [Double?] {
            levels.map { $0.timedOut ? nil : $0[keyPath: key].map { $0[keyPath: stat] * 1000 } }
        }
        let colors = (mean: "#1f77b4", p50: "#2ca02c", p99: "#d62728")
        let panels = [
            Panel(title: "Time to first token", yLabel: "ms", series: [
                Series(name: "mean", color: colors.mean, values: latency(\.timeToFirstToken, \.mean)),
                Series(name: "p50", color: colors.p50, values: latency(\.timeToFirstToken, \.p50)),
                Series(name: "p99", color: colors.p99, values: latency(\.timeToFirstToken, \.p99)),
            ]),
            Panel(title: "Time between tokens", yLabel: "ms", series: [
                Series(name: "mean", color: colors.mean, values: latency(\.timeBetweenTokens, \.mean)),
                Series(name: "p50", color: colors.p50, values: latency(\.timeBetweenTokens, \.p50)),
                Series(name: "p99", color: colors.p99, values: latency(\.timeBetweenTokens, \.p99)),
            ]),
            Panel(title: "Throughput", yLabel: "output tokens/s", series: [
                Series(name: "output tokens/s", color: "#9467bd", values: levels.map { $0.timedOut ? nil : $0.outputTokensPerSecond }),
            ]),
        ]
        let c = report.configuration
        let title = "bench serve: \(c.model ?? "(server default model)") at \(c.url), \(c.endpoint), max tokens \(c.maxTokens), \(c.prompts)"
        return render(title: title, x: x, timedOut: timedOut, panels: panels)
    }

    /// The SVG for arbitrary panels over x values (all > 0), with Timeout flags per x.
    public static func render(title: String, x: [Double], timedOut: [Bool], panels: [Panel]) -> String {
        let width = panelWidth * Double(max(panels.count, 1)), height = headerHeight + panelHeight
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" \
        font-family="sans-serif" font-size="11">
        <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="white"/>
        <text x="\(n(width / 2))" y="22" text-anchor="middle" font-size="13" font-weight="bold">\(escape(title))</text>

        """
        for (i, panel) in panels.enumerated() {
            out += renderPanel(panel, x: x, timedOut: timedOut, originX: Double(i) * panelWidth, originY: headerHeight)
        }
        out += "</svg>\n"
        return out
    }

    private static func renderPanel(_ panel: Panel, x: [Double], timedOut: [Bool], originX: Double, originY: Double) -> String {
        let left = originX + margin.left, right = originX + panelWidth - margin.right
        let top = originY + margin.top, bottom = originY + panelHeight - margin.bottom
        let xs = x.map { log2(max($0, 1e-9)) }
        let xPad = 14.0
        let xMin = xs.min() ?? 0, xMax = xs.max() ?? 1
        func px(_ i: Int) -> Double {
            xMax > xMin ? left + xPad + (xs[i] - xMin) / (xMax - xMin) * (right - left - 2 * xPad) : (left + right) / 2
        }
        let yMaxData = panel.series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite).max() ?? 0
        let (yMax, step) = niceScale(yMaxData)
        func py(_ v: Double) -> Double { bottom - v / yMax * (bottom - top) }

        var out = "<g class=\"panel\">\n"
        out += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(originY + 18))\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
        // Grid lines and y ticks.
        var tick = 0.0
        for _ in 0...100 where tick <= yMax + step / 2 {
            let y = py(tick)
            out += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(right))\" y2=\"\(n(y))\" stroke=\"#e0e0e0\"/>\n"
            out += "<line x1=\"\(n(left - 4))\" y1=\"\(n(y))\" x2=\"\(n(left))\" y2=\"\(n(y))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(escape(tickLabel(tick, step: step)))</text>\n"
            tick += step
        }
        // X ticks at every level, with Timeout flags.
        for i in x.indices {
            let xp = px(i)
            out += "<line x1=\"\(n(xp))\" y1=\"\(n(bottom))\" x2=\"\(n(xp))\" y2=\"\(n(bottom + 4))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(n(xp))\" y=\"\(n(bottom + 16))\" text-anchor=\"middle\">\(escape(tickLabel(x[i], step: 1)))</text>\n"
            if i < timedOut.count, timedOut[i] {
                out += "<text x=\"\(n(xp))\" y=\"\(n(bottom - 6))\" text-anchor=\"middle\" fill=\"#d62728\" font-size=\"9\">Timeout</text>\n"
            }
        }
        // Axes and their labels.
        out += "<line x1=\"\(n(left))\" y1=\"\(n(bottom))\" x2=\"\(n(right))\" y2=\"\(n(bottom))\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(bottom))\" stroke=\"black\"/>\n"
        out += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(bottom + 34))\" text-anchor=\"middle\">concurrent requests</text>\n"
        let yLabelX = originX + 14, yLabelY = (top + bottom) / 2
        out += "<text x=\"\(n(yLabelX))\" y=\"\(n(yLabelY))\" text-anchor=\"middle\" transform=\"rotate(-90 \(n(yLabelX)) \(n(yLabelY)))\">\(escape(panel.yLabel))</text>\n"
        // Series: one polyline per run of consecutive points, and a dot at every point.
        for series in panel.series {
            var run: [(Double, Double)] = []
            func flush() {
                if run.count >= 2 {
                    let points = run.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
                    out += "<polyline fill=\"none\" stroke=\"\(escape(series.color))\" stroke-width=\"2\" points=\"\(points)\"/>\n"
                }
                run = []
            }
            for i in x.indices {
                guard i < series.values.count, let v = series.values[i], v.isFinite else { flush(); continue }
                run.append((px(i), py(v)))
            }
            flush()
            for i in x.indices {
                guard i < series.values.count, let v = series.values[i], v.isFinite else { continue }
                out += "<circle cx=\"\(n(px(i)))\" cy=\"\(n(py(v)))\" r=\"3\" fill=\"\(escape(series.color))\"/>\n"
            }
        }
        // Legend, top left inside the plot.
        let legendHeight = Double(panel.series.count) * 15 + 6
        let legendWidth = 44 + 6.5 * Double(panel.series.map(\.name.count).max() ?? 0)
        out += "<rect x=\"\(n(left + 6))\" y=\"\(n(top + 4))\" width=\"\(n(legendWidth))\" height=\"\(n(legendHeight))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#c0c0c0\"/>\n"
        for (j, series) in panel.series.enumerated() {
            let y = top + 16 + Double(j) * 15
            out += "<line x1=\"\(n(left + 12))\" y1=\"\(n(y - 4))\" x2=\"\(n(left + 32))\" y2=\"\(n(y - 4))\" stroke=\"\(escape(series.color))\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(n(left + 38))\" y=\"\(n(y))\">\(escape(series.name))</text>\n"
        }
        out += "</g>\n"
        return out
    }

    /// A round upper bound for the y axis and its tick step (1, 2 or 5 × 10ᵏ, about five ticks).
    static func niceScale(_ maximum: Double) -> (max: Double, step: Double) {
        guard maximum > 0, maximum.isFinite else { return (1, 0.2) }
        let raw = maximum / 5
        let magnitude = pow(10, floor(log10(raw)))
        let fraction = raw / magnitude
        let step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
        return ((maximum / step).rounded(.up) * step, step)
    }

    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : Int(-floor(log10(step)))
        return String(format: "%.\(decimals)f", value)
    }

    /// A coordinate with at most two decimals.
    static func n(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }

    /// Text made safe for XML character data and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters other than tab/newline are not allowed in XML 1.0.
                if let v = ch.unicodeScalars.first?.value, v < 0x20, ch != "\t", ch != "\n" { out += " " } else { out.append(ch) }
            }
        }
        return out
    }
}
