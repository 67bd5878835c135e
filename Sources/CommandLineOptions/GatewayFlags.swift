import ArgumentParser
import Gateway

/// The gateway's command-line settings, shared by `scalellm-gateway` (which uses them) and `scalellm serve`
/// (which passes them on to the gateway it starts).
public struct GatewayFlags: ParsableArguments {
    public init() {}

    @Option(help: "Address to listen on (an IPv4 or IPv6 literal).") public var host: String = "127.0.0.1"
    @Option(help: "TCP port (0: any free port, printed at start).") public var port: Int = 8000
    @Option(help: "Largest accepted request body in bytes.") public var maxBodyBytes: Int = 1 << 20
    @Option(help: "File of API keys, one per line; requests then need 'Authorization: Bearer <key>' (re-read on SIGHUP).")
    public var apiKeys: String?
    @Flag(help: "Require an API key for /metrics too.") public var metricsRequireKey = false
    @Option(help: "Most open client connections.") public var maxConnections: Int = 1024
    @Option(help: "Seconds an idle keep-alive connection stays open.") public var idleTimeout: Int = 60
    @Option(help: "Seconds a client may take to send its request headers.") public var headerTimeout: Int = 10
    @Option(help: "Seconds a request may wait for room in the engine before 503 with Retry-After.") public var queueTimeout: Double = 30
    @Option(help: "Seconds the worker may send no heartbeat, or make no progress with work waiting, before /ready answers 503 and its in-flight requests end with an error.")
    public var workerStallTimeout: Double = 10
    @Option(help: "Seconds requests being answered may take to finish after SIGTERM/SIGINT before the gateway closes anyway.")
    public var gracePeriod: Double = 30

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard maxBodyBytes >= 1024, maxConnections >= 1 else {
            throw ValidationError("--max-body-bytes must be at least 1024 and --max-connections at least 1")
        }
        // A day bounds every timeout, so that the milliseconds always fit the timers' 64-bit counts.
        let day = 86_400
        guard (1...day).contains(idleTimeout), (1...day).contains(headerTimeout), (0...Double(day)).contains(queueTimeout) else {
            throw ValidationError("--idle-timeout and --header-timeout must be 1…\(day) seconds, --queue-timeout 0…\(day)")
        }
        guard (0...Double(day)).contains(gracePeriod) else { throw ValidationError("--grace-period must be 0…\(day) seconds") }
        guard (0.1...Double(day)).contains(workerStallTimeout) else {
            throw ValidationError("--worker-stall-timeout must be 0.1…\(day) seconds (and above the worker's heartbeat interval)")
        }
    }

    public func options(workerSocket: String) -> GatewayOptions {
        GatewayOptions(host: host == "localhost" ? "127.0.0.1" : host, port: port, workerSocket: workerSocket,
                       maxBodyBytes: maxBodyBytes, apiKeysPath: apiKeys, metricsRequireKey: metricsRequireKey,
                       maxConnections: maxConnections, idleTimeoutMilliseconds: UInt64(idleTimeout) * 1000,
                       headerTimeoutMilliseconds: UInt64(headerTimeout) * 1000,
                       queueTimeoutMilliseconds: UInt64(queueTimeout * 1000),
                       workerStallTimeoutMilliseconds: UInt64(workerStallTimeout * 1000),
                       gracePeriodMilliseconds: UInt64(gracePeriod * 1000))
    }

    /// The same settings as gateway command-line arguments.
    public var arguments: [String] {
        ["--host", host, "--port", String(port), "--max-body-bytes", String(maxBodyBytes), "--max-connections", String(maxConnections),
         "--idle-timeout", String(idleTimeout), "--header-timeout", String(headerTimeout), "--queue-timeout", String(queueTimeout),
         "--worker-stall-timeout", String(workerStallTimeout), "--grace-period", String(gracePeriod)]
            + (apiKeys.map { ["--api-keys", $0] } ?? []) + (metricsRequireKey ? ["--metrics-require-key"] : [])
    }
}
