/// What the admin socket can ask of a worker process: `WorkerServer` (rank 0, the scheduler) and
/// `TensorParallelFollower` (ranks > 0, which refuse `drain` and `shutdown`).
protocol AdminTarget: AnyObject, Sendable {
    func adminStatus() -> WorkerStatus
    /// Stops admitting requests; running and waiting ones finish. Returns the scheduler's state after the change.
    func drain() throws(AdminRefusal) -> WorkerStatus.SchedulerState
    /// Accepts `shutdown`: returns what stops the worker as SIGTERM does, run once the reply has been sent.
    func shutdown() throws(AdminRefusal) -> @Sendable () -> Void
}

/// Why a worker process does not carry out an admin command: the error reply's `code` and `error` message.
struct AdminRefusal: Error, Equatable {
    let code: String
    let message: String
}
