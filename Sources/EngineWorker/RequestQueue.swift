import Foundation

/// The hand-off between connection threads (which receive requests) and the engine thread (which runs them):
/// a FIFO guarded by a condition variable, with cancellation of requests that have not started yet.
final class RequestQueue<Job: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(id: UInt64, job: Job)] = []
    private var closed = false

    func push(id: UInt64, _ job: Job) {
        condition.withLock {
            jobs.append((id, job))
            condition.signal()
        }
    }

    /// The next job, waiting for one; nil once the queue is closed.
    func pop() -> (id: UInt64, job: Job)? {
        condition.withLock {
            while jobs.isEmpty && !closed { condition.wait() }
            return jobs.isEmpty ? nil : jobs.removeFirst()
        }
    }

    /// Removes the waiting jobs that `matches`, returning them.
    func remove(where matches: (UInt64, Job) -> Bool) -> [(id: UInt64, job: Job)] {
        condition.withLock {
            let removed = jobs.filter { matches($0.id, $0.job) }
            jobs.removeAll { matches($0.id, $0.job) }
            return removed
        }
    }

    var count: Int { condition.withLock { jobs.count } }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}
