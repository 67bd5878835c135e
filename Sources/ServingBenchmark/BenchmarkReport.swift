import Foundation

/// A whole `bench serve` run: how it was configured and one `LevelResult` per concurrency level. It is the JSON
/// file written by `--output-json` and read back by `--compare`; every figure of the tables and chart is in it,
/// along with every request's raw timings.
public struct BenchmarkReport: Codable, Equatable, Sendable {
    /// How the run was set up.
    public struct Configuration: Codable, Equatable, Sendable {
        /// A short name for the run or server (shown in comparisons).
        public var label: String
        public var url: String
        /// `completions` or `chat`.
        public var endpoint: String
        public var model: String?
        public var maxTokens: Int
        /// `random words ×L (seed S)` or `file NAME (N prompts)`.
        public var prompts: String
        /// Requests per level, when the level is bounded by count.
        public var requestsPerLevel: [Int]?
        /// Seconds per level, when the level is bounded by time.
        public var durationSeconds: Double?
        public var requestRate: Double?
        public var temperature: Double
        public var ignoreEOS: Bool
        public var seed: UInt64

        public init(label: String, url: String, endpoint: String, model: String?, maxTokens: Int, prompts: String,
                    requestsPerLevel: [Int]?, durationSeconds: Double?, requestRate: Double?, temperature: Double,
                    ignoreEOS: Bool, seed: UInt64) {
            self.label = label
            self.url = url
            self.endpoint = endpoint
            self.model = model
            self.maxTokens = maxTokens
            self.prompts = prompts
            self.requestsPerLevel = requestsPerLevel
            self.durationSeconds = durationSeconds
            self.requestRate = requestRate
            self.temperature = temperature
            self.ignoreEOS = ignoreEOS
            self.seed = seed
        }
    }

    /// The version of this JSON layout.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// When the run started (ISO 8601, UTC).
    public var startedAt: String
    public var configuration: Configuration
    public var levels: [LevelResult]

    public init(startedAt: String, configuration: Configuration, levels: [LevelResult]) {
        formatVersion = Self.currentFormatVersion
        self.startedAt = startedAt
        self.configuration = configuration
        self.levels = levels
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a report written by `jsonData()`.
    public static func decode(_ data: Data) throws -> BenchmarkReport {
        let report = try JSONDecoder().decode(BenchmarkReport.self, from: data)
        guard report.formatVersion == currentFormatVersion else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription:
                "benchmark report format \(report.formatVersion) is not the supported \(currentFormatVersion)"))
        }
        return report
    }

    /// The current time as ISO 8601 (UTC), for `startedAt`.
    public static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
