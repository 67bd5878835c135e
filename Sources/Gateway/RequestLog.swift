import Logging

/// One structured log line per answered request — `id`, `endpoint`, `status`, prompt and output tokens, queue
/// time, time to first token and total time, and the worker group (`replica`) — at `info` for the API and `debug`
/// for probes (`/health`, `/ready`, `/metrics`), so that a load balancer's polling does not drown the requests.
/// With `--log-format json` each field is its own JSON key.
struct RequestLog: Sendable {
    let log: Logger
    private static let probes: Set<String> = ["/health", "/ready", "/metrics"]

    /// What is known about a request when it is answered (nil: not applicable, e.g. no tokens for `/v1/models`).
    struct Record {
        var id: String?
        var endpoint: String
        var status: Int
        var promptTokens: Int?
        var outputTokens: Int?
        var queueSeconds: Double?
        var firstTokenSeconds: Double?
        var totalSeconds: Double
    }

    func record(_ record: Record) {
        var metadata: Logger.Metadata = [
            "endpoint": "\(record.endpoint)", "status": "\(record.status)", "total_ms": "\(milliseconds(record.totalSeconds))",
            "replica": "0",
        ]
        if let id = record.id { metadata["id"] = "\(id)" }
        if let tokens = record.promptTokens { metadata["prompt_tokens"] = "\(tokens)" }
        if let tokens = record.outputTokens { metadata["output_tokens"] = "\(tokens)" }
        if let seconds = record.queueSeconds { metadata["queue_ms"] = "\(milliseconds(seconds))" }
        if let seconds = record.firstTokenSeconds { metadata["ttft_ms"] = "\(milliseconds(seconds))" }
        log.log(level: Self.probes.contains(record.endpoint) ? .debug : .info, "request", metadata: metadata)
    }

    private func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
}
