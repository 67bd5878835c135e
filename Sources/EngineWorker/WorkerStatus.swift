import Foundation

/// What the admin socket's `status` command reports about one worker process, and how `scalellm admin` shows it.
/// The JSON keys below are the interface operators' scripts rely on: add keys, do not rename them.
public struct WorkerStatus: Sendable {
    public var rank = 0
    public var role = "scheduler"
    public var model: String
    /// How the linear weights are held (`fp32`, or `fp8` with per-channel scales); activations are float32.
    public var dtype: String
    public var tensorParallelSize = 1
    public var pid = Int(getpid())
    public var uptimeSeconds: Double
    public var draining: Bool
    public var engine: EngineStatistics
    public var requestsCompleted: UInt64
    public var blockSize: Int
    public var steps: StepStatistics
    /// When the status was taken (monotonic seconds, the same clock as `steps`).
    public var now: Double

    public init(model: String, dtype: String, uptimeSeconds: Double, draining: Bool, engine: EngineStatistics, requestsCompleted: UInt64,
                blockSize: Int, steps: StepStatistics, now: Double) {
        self.model = model
        self.dtype = dtype
        self.uptimeSeconds = uptimeSeconds
        self.draining = draining
        self.engine = engine
        self.requestsCompleted = requestsCompleted
        self.blockSize = blockSize
        self.steps = steps
        self.now = now
    }

    /// Prompt tokens served from the prefix cache over prompt tokens admitted (0 before any prompt).
    public var prefixCacheHitRate: Double {
        engine.promptTokensAdmitted == 0 ? 0 : Double(engine.prefixCacheHitTokens) / Double(engine.promptTokensAdmitted)
    }

    /// The `status` reply's fields (without `ok`). Times in milliseconds or seconds as the key says; a step-time
    /// percentile is null before the first step.
    public var jsonObject: [String: Any] {
        let rates = steps.rates(now: now)
        func milliseconds(_ p: Double) -> Any { steps.stepTime(percentile: p).map { rounded($0 * 1000, 3) } ?? NSNull() }
        return [
            "rank": rank, "role": role, "model": model, "dtype": dtype, "tp_size": tensorParallelSize, "pid": pid,
            "uptime_s": rounded(uptimeSeconds, 3), "draining": draining,
            "running": engine.running, "waiting": engine.waiting, "requests_completed": Int(requestsCompleted),
            "kv_blocks_used": engine.blocksUsed, "kv_blocks_free": engine.blocksTotal - engine.blocksUsed,
            "kv_blocks_cached": engine.blocksCached, "kv_blocks_total": engine.blocksTotal, "kv_block_size": blockSize,
            "prompt_tokens_admitted": engine.promptTokensAdmitted, "prefix_cache_hit_tokens": engine.prefixCacheHitTokens,
            "prefix_cache_hit_rate": rounded(prefixCacheHitRate, 4),
            "steps": engine.steps, "preemptions": engine.preemptions, "tokens_computed": engine.tokensComputed,
            "rate_window_s": steps.windowSeconds, "steps_per_s": rounded(rates.steps, 3),
            "generated_tokens_per_s": rounded(rates.generated, 3), "computed_tokens_per_s": rounded(rates.computed, 3),
            "step_time_samples": steps.sampleCount,
            "step_time_p50_ms": milliseconds(50), "step_time_p90_ms": milliseconds(90), "step_time_p99_ms": milliseconds(99),
        ]
    }

    private func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// A readable two-column table of a `status` reply (as parsed JSON; keys it lacks show as "-").
    public static func table(_ json: [String: Any]) -> String {
        func text(_ key: String) -> String {
            switch json[key] {
            case let string as String: return string
            case let number as NSNumber: return format(number.doubleValue)
            default: return "-"
            }
        }
        func format(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.2f", value)
        }
        func percent(_ key: String) -> String {
            (json[key] as? NSNumber).map { String(format: "%.1f%%", $0.doubleValue * 100) } ?? "-"
        }
        let draining = (json["draining"] as? NSNumber)?.boolValue
        let rows: [(String, String)] = [
            ("rank", text("rank")),
            ("role", text("role")),
            ("model", text("model")),
            ("dtype", text("dtype")),
            ("tensor parallel size", text("tp_size")),
            ("pid", text("pid")),
            ("uptime", "\(text("uptime_s")) s"),
            ("state", draining.map { $0 ? "draining (new requests refused)" : "serving" } ?? "-"),
            ("sequences", "\(text("running")) running, \(text("waiting")) waiting"),
            ("requests completed", text("requests_completed")),
            ("KV blocks", "\(text("kv_blocks_used")) used, \(text("kv_blocks_free")) free (\(text("kv_blocks_cached")) cached), "
                + "\(text("kv_blocks_total")) total of \(text("kv_block_size")) tokens"),
            ("prefix cache hit rate", "\(percent("prefix_cache_hit_rate")) (\(text("prefix_cache_hit_tokens")) of "
                + "\(text("prompt_tokens_admitted")) prompt tokens)"),
            ("steps", "\(text("steps")) (\(text("preemptions")) preemptions)"),
            ("steps/s", "\(text("steps_per_s")) (last \(text("rate_window_s")) s)"),
            ("step time", "p50 \(text("step_time_p50_ms")) ms, p90 \(text("step_time_p90_ms")) ms, "
                + "p99 \(text("step_time_p99_ms")) ms (last \(text("step_time_samples")) steps)"),
            ("tokens/s", "\(text("generated_tokens_per_s")) generated, \(text("computed_tokens_per_s")) computed "
                + "(last \(text("rate_window_s")) s)"),
        ]
        let width = rows.map(\.0.count).max()!
        return rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }
}
