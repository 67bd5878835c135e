import Foundation

/// Metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges and histograms with
/// labels. The gateway's loop thread owns the registry; rendering happens when `/metrics` is scraped.
public final class PrometheusRegistry {
    /// A metric family: one name, one type, many label sets.
    private final class Family {
        let name: String, help: String, type: String
        let buckets: [Double]
        var series: [String: Series] = [:]   // rendered label set → values
        var order: [String] = []
        init(name: String, help: String, type: String, buckets: [Double] = []) {
            self.name = name
            self.help = help
            self.type = type
            self.buckets = buckets
        }
    }

    private struct Series {
        var value: Double = 0
        var bucketCounts: [UInt64] = []
        var count: UInt64 = 0
    }

    private var families: [String: Family] = [:]
    private var familyOrder: [String] = []

    public init() {}

    public func counter(_ name: String, help: String) { declare(name, help, "counter") }
    public func gauge(_ name: String, help: String) { declare(name, help, "gauge") }
    public func histogram(_ name: String, help: String, buckets: [Double]) { declare(name, help, "histogram", buckets: buckets.sorted()) }

    public func increment(_ name: String, labels: [(String, String)] = [], by amount: Double = 1) {
        update(name, labels) { $0.value += amount }
    }

    public func set(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        update(name, labels) { $0.value = value }
    }

    public func observe(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        guard let family = families[name] else { return }
        update(name, labels) { series in
            if series.bucketCounts.isEmpty { series.bucketCounts = Array(repeating: 0, count: family.buckets.count) }
            for (i, bound) in family.buckets.enumerated() where value <= bound { series.bucketCounts[i] += 1 }
            series.value += value
            series.count += 1
        }
    }

    /// The exposition text.
    public func render() -> String {
        var out = ""
        for name in familyOrder {
            let family = families[name]!
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.type)\n"
            for labels in family.order {
                let series = family.series[labels]!
                if family.type == "histogram" {
                    for (i, bound) in family.buckets.enumerated() {
                        out += "\(name)_bucket\(Self.braces(labels, extra: "le=\"\(Self.format(bound))\"")) \(series.bucketCounts[i])\n"
                    }
                    out += "\(name)_bucket\(Self.braces(labels, extra: "le=\"+Inf\"")) \(series.count)\n"
                    out += "\(name)_sum\(Self.braces(labels, extra: nil)) \(Self.format(series.value))\n"
                    out += "\(name)_count\(Self.braces(labels, extra: nil)) \(series.count)\n"
                } else {
                    out += "\(name)\(Self.braces(labels, extra: nil)) \(Self.format(series.value))\n"
                }
            }
        }
        return out
    }

    private func declare(_ name: String, _ help: String, _ type: String, buckets: [Double] = []) {
        guard families[name] == nil else { return }
        families[name] = Family(name: name, help: help, type: type, buckets: buckets)
        familyOrder.append(name)
    }

    private func update(_ name: String, _ labels: [(String, String)], _ change: (inout Series) -> Void) {
        guard let family = families[name] else { preconditionFailure("metric \(name) was not declared") }
        let key = labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        if family.series[key] == nil {
            family.series[key] = Series()
            family.order.append(key)
        }
        change(&family.series[key]!)
    }

    private static func braces(_ labels: String, extra: String?) -> String {
        let all = [labels, extra ?? ""].filter { !$0.isEmpty }.joined(separator: ",")
        return all.isEmpty ? "" : "{\(all)}"
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
