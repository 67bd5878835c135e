import Foundation

/// What the admin socket's `status` command reports about one worker process, and how `scalellm admin` shows it.
/// The JSON keys below are the interface operators' scripts rely on: add keys, do not rename them.
///
/// Every process reports who it is (rank, role, model, dtype, KV-cache dtype, tensor-parallel size) and its own steps: how many
/// it ran, the tokens it ran through its model, steps/s and step-time percentiles. Only rank 0 schedules, so only
/// its status has sequences, KV blocks, the prefix cache, drain state and generated tokens/s; a follower's names
/// rank 0's admin socket instead.
public struct WorkerStatus: Sendable {
    /// What rank 0 knows as the scheduler.
    public struct SchedulerState: Sendable {
        public var draining: Bool
        public var engine: EngineStatistics
        public var requestsCompleted: UInt64
        public var blockSize: Int
        /// Seconds the engine thread spent working (commands, steps, publishing its frames), over all iterations.
        public var engineBusySeconds: Double

        public init(draining: Bool, engine: EngineStatistics, requestsCompleted: UInt64, blockSize: Int, engineBusySeconds: Double = 0) {
            self.engineBusySeconds = engineBusySeconds
            self.draining = draining
            self.engine = engine
            self.requestsCompleted = requestsCompleted
            self.blockSize = blockSize
        }

        /// Prompt tokens served from the prefix cache over prompt tokens admitted (0 before any prompt).
        public var prefixCacheHitRate: Double {
            engine.promptTokensAdmitted == 0 ? 0 : Double(engine.prefixCacheHitTokens) / Double(engine.promptTokensAdmitted)
        }
    }

    /// What the process does in its group.
    public enum Role: Sendable {
        /// Rank 0 (or the only process): runs the scheduler, serves gateways, takes `drain` and `shutdown`.
        case scheduler(SchedulerState)
        /// A rank > 0 of a tensor-parallel group: executes rank 0's step plans on its shard; `drain` and
        /// `shutdown` go to rank 0's admin socket, at `schedulerAdminSocket`.
        case follower(schedulerAdminSocket: String)

        /// `scheduler` or `follower`.
        public var name: String {
            switch self {
            case .scheduler: return "scheduler"
            case .follower: return "follower"
            }
        }
    }

    /// What the process holds in memory, and the size of the checkpoint it serves (a quantised model's weights
    /// are about its file's size; a float32 expansion is several times more).
    public struct Memory: Sendable {
        /// Bytes of the weights this process holds (encoded rows mapped from the file count too).
        public var weightBytes: Int
        /// Bytes of the KV pool.
        public var kvCacheBytes: Int
        /// Bytes of the checkpoint's files.
        public var modelFileBytes: Int

        public init(weightBytes: Int, kvCacheBytes: Int, modelFileBytes: Int) {
            self.weightBytes = weightBytes
            self.kvCacheBytes = kvCacheBytes
            self.modelFileBytes = modelFileBytes
        }
    }

    public var rank: Int
    public var role: Role
    public var model: String
    /// How the linear weights are held (`fp32`, or `fp8` with per-channel scales); activations are float32.
    public var dtype: String
    /// The KV cache's element type (`f32`, `f16`, `bf16`, `fp8`).
    public var kvCacheDType: String
    public var tensorParallelSize: Int
    public var memory: Memory
    public var pid = Int(getpid())
    public var uptimeSeconds: Double
    /// Steps this process has run.
    public var stepCount: Int
    /// Tokens this process has run through its model (prefill chunks, decode tokens and recomputation).
    public var tokensComputed: Int
    /// Recent step timings of this process.
    public var steps: StepStatistics
    /// When the status was taken (monotonic seconds, the same clock as `steps`).
    public var now: Double

    public init(rank: Int, role: Role, model: String, dtype: String, kvCacheDType: String, tensorParallelSize: Int,
                memory: Memory,
                uptimeSeconds: Double, stepCount: Int, tokensComputed: Int, steps: StepStatistics, now: Double) {
        self.rank = rank
        self.role = role
        self.model = model
        self.dtype = dtype
        self.kvCacheDType = kvCacheDType
        self.tensorParallelSize = tensorParallelSize
        self.memory = memory
        self.uptimeSeconds = uptimeSeconds
        self.stepCount = stepCount
        self.tokensComputed = tokensComputed
        self.steps = steps
        self.now = now
    }

    /// The `status` reply's fields (without `ok`). Times in milliseconds or seconds as the key says; a step-time
    /// percentile is null before the first step.
    public var jsonObject: [String: Any] {
        let rates = steps.rates(now: now)
        func milliseconds(_ p: Double) -> Any { steps.stepTime(percentile: p).map { rounded($0 * 1000, 3) } ?? NSNull() }
        var object: [String: Any] = [
            "rank": rank, "role": role.name, "model": model, "dtype": dtype, "kv_cache_dtype": kvCacheDType, "tp_size": tensorParallelSize, "pid": pid,
            "uptime_s": rounded(uptimeSeconds, 3), "steps": stepCount, "tokens_computed": tokensComputed,
            "rate_window_s": steps.windowSeconds, "steps_per_s": rounded(rates.steps, 3),
            "computed_tokens_per_s": rounded(rates.computed, 3), "step_time_samples": steps.sampleCount,
            "step_time_p50_ms": milliseconds(50), "step_time_p90_ms": milliseconds(90), "step_time_p99_ms": milliseconds(99),
            "weight_bytes": memory.weightBytes, "kv_cache_bytes": memory.kvCacheBytes, "model_file_bytes": memory.modelFileBytes,
        ]
        switch role {
        case .scheduler(let state):
            let engine = state.engine
            object.merge([
                "draining": state.draining, "running": engine.running, "waiting": engine.waiting,
                "requests_completed": Int(state.requestsCompleted),
                "kv_blocks_used": engine.blocksUsed, "kv_blocks_free": engine.blocksTotal - engine.blocksUsed,
                "kv_blocks_cached": engine.blocksCached, "kv_blocks_total": engine.blocksTotal, "kv_block_size": state.blockSize,
                "prompt_tokens_admitted": engine.promptTokensAdmitted, "prefix_cache_hit_tokens": engine.prefixCacheHitTokens,
                "prefix_cache_hit_rate": rounded(state.prefixCacheHitRate, 4), "preemptions": engine.preemptions,
                "generated_tokens_per_s": rounded(rates.generated, 3),
                // What the engine thread spends outside the model's forward pass (scheduling, sampling, frames):
                // totals, so that a benchmark can take differences over an interval.
                "engine_busy_s": rounded(state.engineBusySeconds, 6), "model_forward_s": rounded(engine.modelSeconds, 6),
            ]) { old, _ in old }
        case .follower(let schedulerAdminSocket):
            object["scheduler_admin_socket"] = schedulerAdminSocket
        }
        return object
    }

    private func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// A readable two-column table of a `status` reply (as parsed JSON; keys it lacks show as "-"): a follower's
    /// shows its identity and steps, rank 0's also the scheduler's rows.
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
        func size(_ key: String) -> String {
            (json[key] as? NSNumber).map { ByteSize(bytes: $0.intValue).description } ?? "-"
        }
        func percent(_ key: String) -> String {
            (json[key] as? NSNumber).map { String(format: "%.1f%%", $0.doubleValue * 100) } ?? "-"
        }
        let identity: [(String, String)] = [
            ("rank", text("rank")),
            ("role", text("role")),
            ("model", text("model")),
            ("dtype", text("dtype")),
            ("KV cache dtype", text("kv_cache_dtype")),
            ("tensor parallel size", text("tp_size")),
            ("pid", text("pid")),
            ("uptime", "\(text("uptime_s")) s"),
            ("memory", "weights \(size("weight_bytes")), KV cache \(size("kv_cache_bytes")) (model file \(size("model_file_bytes")))"),
        ]
        let stepTimes: [(String, String)] = [
            ("steps/s", "\(text("steps_per_s")) (last \(text("rate_window_s")) s)"),
            ("step time", "p50 \(text("step_time_p50_ms")) ms, p90 \(text("step_time_p90_ms")) ms, "
                + "p99 \(text("step_time_p99_ms")) ms (last \(text("step_time_samples")) steps)"),
        ]
        let rows: [(String, String)]
        if json["role"] as? String == "follower" {
            rows = identity + [
                ("scheduler admin socket", "\(text("scheduler_admin_socket")) (drain and shutdown go there)"),
                ("steps", text("steps")),
            ] + stepTimes + [
                ("tokens/s", "\(text("computed_tokens_per_s")) computed (last \(text("rate_window_s")) s)"),
            ]
        } else {
            let draining = (json["draining"] as? NSNumber)?.boolValue
            rows = identity + [
                ("state", draining.map { $0 ? "draining (new requests refused)" : "serving" } ?? "-"),
                ("sequences", "\(text("running")) running, \(text("waiting")) waiting"),
                ("requests completed", text("requests_completed")),
                ("KV blocks", "\(text("kv_blocks_used")) used, \(text("kv_blocks_free")) free (\(text("kv_blocks_cached")) cached), "
                    + "\(text("kv_blocks_total")) total of \(text("kv_block_size")) tokens"),
                ("prefix cache hit rate", "\(percent("prefix_cache_hit_rate")) (\(text("prefix_cache_hit_tokens")) of "
                    + "\(text("prompt_tokens_admitted")) prompt tokens)"),
                ("steps", "\(text("steps")) (\(text("preemptions")) preemptions)"),
            ] + stepTimes + [
                ("tokens/s", "\(text("generated_tokens_per_s")) generated, \(text("computed_tokens_per_s")) computed "
                    + "(last \(text("rate_window_s")) s)"),
            ]
        }
        let width = rows.map(\.0.count).max()!
        return rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }
}
