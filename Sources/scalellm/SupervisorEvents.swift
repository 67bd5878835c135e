import Foundation

/// What `scalellm serve`'s main thread waits for: a child exited (each child has a thread blocked in `waitpid`), or
/// a stop signal arrived. It exists so that the supervisor sleeps until something happens or a restart is due,
/// without polling.
final class SupervisorEvents: @unchecked Sendable {
    enum Event {
        case exited(pid_t, status: Int32)
        case stop
        /// SIGHUP: the gateway re-reads its API keys.
        case reload
    }

    private let condition = NSCondition()
    private var events: [Event] = []

    func post(_ event: Event) {
        condition.withLock {
            events.append(event)
            condition.signal()
        }
    }

    /// Reaps `child` on a thread of its own and posts its exit.
    func watch(_ child: ChildProcess) {
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
            post(.exited(child.pid, status: status))
        }
        thread.name = "wait-\(child.name)"
        thread.start()
    }

    /// The next event, waiting for one until `deadline` (`Date`); nil when the deadline passed first.
    func next(until deadline: Date?) -> Event? {
        condition.withLock {
            while events.isEmpty {
                if let deadline {
                    if !condition.wait(until: deadline) && events.isEmpty { return nil }
                } else {
                    condition.wait()
                }
            }
            return events.removeFirst()
        }
    }
}
