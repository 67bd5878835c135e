import ArgumentParser
import Logging

/// `--log-format` and `--log-level`, shared by `scalellm serve` (which passes them on to its children), the gateway
/// and the worker, so that every process of a server logs the same way.
public struct LogOptions: ParsableArguments {
    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// One human-readable line per event (swift-log's stream format).
        case text
        /// One JSON object per line: `ts`, `level`, `label`, `message` and the event's fields.
        case json
    }

    public init() {}

    @Option(help: "Log line format: text or json (one object per line, for log collectors).") public var logFormat: Format = .text
    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error or critical.") public var logLevel: String = "info"

    public func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Routes this process's logs to standard error in the chosen format and level. Call once, first thing.
    public func bootstrap() {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = logFormat
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The same settings as command-line arguments, for child processes.
    public var arguments: [String] { ["--log-format", logFormat.rawValue, "--log-level", logLevel] }
}
