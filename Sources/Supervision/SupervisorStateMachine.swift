/// What `scalellm serve` does when its children exit or it is asked to stop: the worker group is restarted with
/// exponential backoff while the gateway stays up (it answers 503 with `Retry-After` meanwhile), until it has
/// crashed `maxRestarts` times within `restartWindow` seconds; the gateway is not restarted (a supervisor above,
/// systemd, restarts serve). An enum of states and one method per event returning the actions to perform, so
/// that every transition is tested without processes.
public struct SupervisorStateMachine {
    public enum Child: Equatable, CustomStringConvertible {
        case worker, gateway
        public var description: String { self == .worker ? "worker" : "gateway" }
    }

    public enum State: Equatable {
        /// Both children run.
        case serving
        /// The worker crashed; it is started again at `restartAt` (monotonic seconds).
        case waitingToRestart(restartAt: Double)
        /// Stopping on request (a signal, or the worker's admin `shutdown`): waiting for the children to exit.
        case stopping
        /// Stopping because of a failure: waiting for the children to exit, then exit non-zero.
        case failing
    }

    public enum Action: Equatable {
        case startWorker
        /// Sends SIGTERM to the children still running.
        case stopChildren
        case log(String)
        /// Every child has exited: serve ends, successfully or not.
        case exit(success: Bool)
    }

    public let maxRestarts: Int
    public let restartWindow: Double
    public let initialBackoff: Double
    public let maxBackoff: Double
    public private(set) var state = State.serving
    /// When the worker crashed, within the last `restartWindow` seconds.
    public private(set) var recentCrashes: [Double] = []
    private var running: Set<Child> = [.worker, .gateway]

    public init(maxRestarts: Int, restartWindow: Double, initialBackoff: Double = 0.5, maxBackoff: Double = 10) {
        self.maxRestarts = maxRestarts
        self.restartWindow = restartWindow
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// When the next restart is due, if one is waiting.
    public var restartDue: Double? {
        if case .waitingToRestart(let at) = state { return at }
        return nil
    }

    /// `child` exited with `status` at `now`. A worker that exits cleanly by itself was stopped on purpose (its admin
    /// `shutdown`): serve stops too.
    public mutating func exited(_ child: Child, pid: Int32, _ status: ExitStatus, at now: Double) -> [Action] {
        running.remove(child)
        switch state {
        case .stopping, .failing:
            return running.isEmpty ? [.exit(success: state == .stopping)] : []
        case .serving, .waitingToRestart:
            break
        }
        if child == .gateway {
            state = .failing
            return [.log("the gateway (pid \(pid)) \(status); stopping the worker"), .stopChildren] + (running.isEmpty ? [.exit(success: false)] : [])
        }
        if status.isCleanExit {
            state = .stopping
            return [.log("the worker (pid \(pid)) shut down on request; stopping the gateway"), .stopChildren] + (running.isEmpty ? [.exit(success: true)] : [])
        }
        recentCrashes = recentCrashes.filter { now - $0 < restartWindow } + [now]
        if recentCrashes.count > maxRestarts {
            state = .failing
            return [.log("the worker (pid \(pid)) \(status): it crashed \(recentCrashes.count) time\(recentCrashes.count == 1 ? "" : "s") within \(Int(restartWindow)) s, more than --max-restarts \(maxRestarts); giving up"),
                    .stopChildren] + (running.isEmpty ? [.exit(success: false)] : [])
        }
        let delay = min(maxBackoff, initialBackoff * Double(1 << min(recentCrashes.count - 1, 20)))
        state = .waitingToRestart(restartAt: now + delay)
        return [.log("the worker (pid \(pid)) \(status); restarting it in \(delay) s (crash \(recentCrashes.count) of at most \(maxRestarts) within \(Int(restartWindow)) s)")]
    }

    /// The clock reached `now`: a restart that is due starts the worker.
    public mutating func tick(at now: Double) -> [Action] {
        guard case .waitingToRestart(let at) = state, now >= at else { return [] }
        state = .serving
        running.insert(.worker)
        return [.startWorker]
    }

    /// SIGINT or SIGTERM: stop both children (each finishes what it runs first) and exit 0 once they have.
    public mutating func stopRequested() -> [Action] {
        switch state {
        case .stopping, .failing: return []
        case .serving, .waitingToRestart:
            state = .stopping
            return [.stopChildren] + (running.isEmpty ? [.exit(success: true)] : [])
        }
    }

    /// Starting the worker again failed (the binary went away, say): give up.
    public mutating func restartFailed(_ reason: String) -> [Action] {
        running.remove(.worker)
        state = .failing
        return [.log("cannot restart the worker: \(reason)"), .stopChildren] + (running.isEmpty ? [.exit(success: false)] : [])
    }
}
