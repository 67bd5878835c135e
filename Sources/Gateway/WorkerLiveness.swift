import WireProtocol

/// Whether the connected worker is alive, from its heartbeats (`StatusReply` every heartbeat interval): it is
/// *stalled* when no heartbeat has come for `timeout` seconds (the process is stopped, or its loop is blocked),
/// or when work waits and its step count has stood still that long (a hung engine thread). A step under way
/// counts as progress for up to ten timeouts, so that one long prefill chunk of a large model on a few cores is
/// not mistaken for a hang. A value type driven by the times it is given, so the rules are tested without a clock.
struct WorkerLiveness {
    let timeout: Double
    private var lastHeartbeat: Double
    private var lastProgress: Double
    private var lastSteps: UInt64?
    /// Why the worker counts as stalled; nil while it makes progress.
    private(set) var stall: String?

    /// Starts watching a worker that just completed its handshake at `now`.
    init(timeout: Double, since now: Double) {
        self.timeout = timeout
        lastHeartbeat = now
        lastProgress = now
    }

    /// A heartbeat arrived at `now`. Returns true when it ends a stall.
    mutating func heard(_ status: StatusReply, at now: Double) -> Bool {
        let idle = status.running == 0 && status.waiting == 0
        let inStep = status.stepElapsedMilliseconds > 0 && Double(status.stepElapsedMilliseconds) / 1000 < 10 * timeout
        if idle || inStep || status.engineSteps != lastSteps { lastProgress = now }
        lastSteps = status.engineSteps
        lastHeartbeat = now
        guard stall != nil, now - lastProgress < timeout else { return false }
        stall = nil
        return true
    }

    /// Checks the rules at `now`. Returns the reason when this check begins a stall.
    mutating func check(at now: Double) -> String? {
        guard stall == nil else { return nil }
        if now - lastHeartbeat > timeout {
            stall = "no heartbeat from the engine worker for \(Int((now - lastHeartbeat) * 1000)) ms"
        } else if now - lastProgress > timeout {
            stall = "the engine worker has made no progress for \(Int((now - lastProgress) * 1000)) ms"
        }
        return stall
    }
}
