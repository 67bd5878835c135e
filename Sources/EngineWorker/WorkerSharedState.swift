import Synchronization

/// What the engine thread publishes for the loop thread (status frames, heartbeats, the admin socket) and what
/// the loop thread sets for the engine (drain), behind one mutex.
final class WorkerSharedState: Sendable {
    struct Value: Sendable {
        /// Engine counters as of the last step.
        var engine: EngineStatistics
        var requestsCompleted: UInt64 = 0
        /// Recent step timings (for the admin socket's status).
        var steps: StepStatistics
        /// When the step the engine is running began (nil between steps).
        var stepStartedAt: Double?
        /// Seconds the engine thread spent working (commands, steps, publishing), over all its iterations.
        var engineBusySeconds = 0.0
        /// Set by the admin `drain` command: new requests are refused, admitted ones finish.
        var draining = false
        /// Set when the tensor-parallel group failed: the engine has stopped.
        var failure: TensorParallelError?
    }

    let value: Mutex<Value>

    init(engine: EngineStatistics, start: Double) {
        value = Mutex(Value(engine: engine, steps: StepStatistics(start: start)))
    }

    func withLock<R>(_ body: (inout Value) -> R) -> R {
        value.withLock { body(&$0) }
    }
}
