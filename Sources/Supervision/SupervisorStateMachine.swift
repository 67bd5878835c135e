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
        /// Stopping on request (a signal, or the worker's admin `shutdown`): waiting for the children to exit, at
        /// most until `killAt`, when those still running are killed.
        case stopping(killAt: Double)
        /// Stopping because of a failure: waiting for the children to exit, then exit non-zero.
        case failing
    }

    public enum Action: Equatable {
        case startWorker
        /// Sends SIGTERM to the children still running.
        case stopChildren
        /// Sends SIGKILL to the children still running (they outlived the stop deadline).
        case killChildren
        case log(String)
        /// Every child has exited: serve ends, successfully or not.
        case exit(success: Bool)
    }

    public let maxRestarts: Int
    public let restartWindow: Double
    public let initialBackoff: Double
    public let maxBackoff: Double
    /// How long children may take to exit after a stop request (their grace period plus a margin).
    public let stopTimeout: Double
    public private(set) var state = State.serving
    /// When the worker crashed, within the last `restartWindow` seconds.
    public private(set) var recentCrashes: [Double] = []
    private var running: Set<Child> = [.worker, .gateway]

    public init(maxRestarts: Int, restartWindow: Double, initialBackoff: Double = 0.5, maxBackoff: Double = 10,
                stopTimeout: Double = 40) {
        self.stopTimeout = stopTimeout
        self.maxRestarts = maxRestarts
        self.restartWindow = restartWindow
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// When `tick` has something to do next: a restart that is due, or children to kill after a stop.
    public var nextDeadline: Double? {
        switch state {
        case .waitingToRestart(let at), .stopping(let at): return at
        case .serving, .failing: return nil
        }
    }

    /// `child` exited with `status` at `now`. A worker that exits cleanly by itself was stopped on purpose (its admin
    /// `shutdown`): serve stops too.
    public mutating func exited(_ child: Child, pid: Int32, _ status: ExitStatus, at now: Double) -> [Action] {
        running.remove(child)
        switch state {
        case .stopping:
            return running.isEmpty ? [.exit(success: true)] : []
        case .failing:
            return running.isEmpty ? [.exit(success: false)] : []
        case .serving, .waitingToRestart:
            break
        }
        if child == .gateway {
            state = .failing
            return [.log("the gateway (pid \(pid)) \(status); stopping the worker"), .stopChildren] + (running.isEmpty ? [.exit(success: false)] : [])
        }
        if status.isCleanExit {
            state = .stopping(killAt: now + stopTimeout)
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

    /// The clock reached `now`: a restart that is due starts the worker; children that outlived a stop request
    /// are killed.
    public mutating func tick(at now: Double) -> [Action] {
        switch state {
        case .waitingToRestart(let at) where now >= at:
            state = .serving
            running.insert(.worker)
            return [.startWorker]
        case .stopping(let at) where now >= at:
            state = .failing
            return [.log("the children did not stop within \(Int(stopTimeout)) s; killing them"), .killChildren]
        default:
            return []
        }
    }

    /// SIGINT or SIGTERM at `now`: stop both children (each finishes what it runs first) and exit 0 once they have.
    public mutating func stopRequested(at now: Double) -> [Action] {
        switch state {
        case .stopping, .failing: return []
        case .serving, .waitingToRestart:
            state = .stopping(killAt: now + stopTimeout)
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
