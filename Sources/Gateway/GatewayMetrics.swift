import LoopIO
import Foundation
import WireProtocol

/// The gateway's operational metrics, named as operators of vLLM-style servers expect but prefixed
/// `scalellm_`. Latencies are measured at the gateway, so they include everything a client experiences except
/// the network between client and gateway. Running/waiting requests and KV-cache usage come from the worker's
/// status frame, polled once a second.
final class GatewayMetrics {
    let registry = PrometheusRegistry()
    private static let latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60]

    /// The status counted for a request whose client closed the connection before the answer (nginx's 499).
    static let clientClosedRequest = 499

    init() {
        registry.counter("scalellm_requests_total",
                         help: "HTTP requests answered, by endpoint and status code (499: the client left first).")
        registry.histogram("scalellm_time_to_first_token_seconds", help: "Time from request arrival to its first generated token.",
                           buckets: Self.latencyBuckets)
        registry.histogram("scalellm_inter_token_latency_seconds", help: "Time between successive tokens of a request.",
                           buckets: Self.latencyBuckets)
        registry.histogram("scalellm_e2e_request_latency_seconds", help: "Time from request arrival to its last byte.",
                           buckets: Self.latencyBuckets)
        registry.histogram("scalellm_request_queue_time_seconds",
                           help: "Time from request arrival until it is handed to the engine worker (parsing, tokenization, waiting).",
                           buckets: Self.latencyBuckets)
        registry.counter("scalellm_prompt_tokens_total", help: "Prompt tokens of completed requests.")
        registry.counter("scalellm_generation_tokens_total", help: "Generated tokens of completed requests.")
        registry.gauge("scalellm_num_requests_running", help: "Sequences the engine is running.")
        registry.gauge("scalellm_num_requests_waiting", help: "Sequences waiting for the engine.")
        registry.gauge("scalellm_kv_cache_usage_ratio", help: "Fraction of KV-cache blocks in use.")
        registry.gauge("scalellm_worker_ready", help: "1 while an engine worker is connected and serving.")
    }

    func answered(_ endpoint: String, status: Int) {
        registry.increment("scalellm_requests_total", labels: [("endpoint", endpoint), ("status", String(status))])
    }

    func firstToken(after seconds: Double) { registry.observe("scalellm_time_to_first_token_seconds", seconds) }
    func interToken(_ seconds: Double) { registry.observe("scalellm_inter_token_latency_seconds", seconds) }
    func queued(for seconds: Double) { registry.observe("scalellm_request_queue_time_seconds", seconds) }

    func completed(after seconds: Double, promptTokens: Int, generatedTokens: Int) {
        registry.observe("scalellm_e2e_request_latency_seconds", seconds)
        registry.increment("scalellm_prompt_tokens_total", by: Double(promptTokens))
        registry.increment("scalellm_generation_tokens_total", by: Double(generatedTokens))
    }

    /// The exposition text with the worker's latest status.
    func render(worker status: StatusReply?, ready: Bool) -> String {
        registry.set("scalellm_num_requests_running", Double(status?.running ?? 0))
        registry.set("scalellm_num_requests_waiting", Double(status?.waiting ?? 0))
        let total = Double(status?.kvBlocksTotal ?? 0)
        registry.set("scalellm_kv_cache_usage_ratio", total > 0 ? Double(status!.kvBlocksUsed) / total : 0)
        registry.set("scalellm_worker_ready", ready ? 1 : 0)
        return registry.render()
    }
}

