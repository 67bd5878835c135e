import Foundation
import Synchronization

/// The helper threads behind `ParallelLoop`. A forward pass has hundreds of short parallel sections (an fp8
/// decode step's linear layers take 20–100 µs each); GCD parks its threads as soon as a section ends, and waking
/// one costs about as much as the section on a VM, which cancelled the gain of a second core. These threads
/// instead keep polling (yielding the core to anyone else runnable) for a short while after each section, and
/// only then sleep on a condition.
///
/// One section runs at a time: a call made while another is in progress (from another thread) runs serially on
/// its caller. The caller always works on the section too, so `threads` workers means `threads - 1` helpers.
final class SpinningThreadPool: @unchecked Sendable {
    static let shared = SpinningThreadPool()

    /// Polls a helper makes (each a `sched_yield`) before it sleeps: about 50–100 µs when the core is otherwise idle.
    static let pollsBeforeSleeping = 200

    /// One helper thread: the section it was last asked to join (`ticket`) and the last it finished.
    private final class Helper: @unchecked Sendable {
        let ticket = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
    }

    private let busy = Atomic<Bool>(false)
    private let nextIndex = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let wakeUp = NSCondition()
    /// Grown only by the caller that holds `busy`.
    private var helpers: [Helper] = []
    private var section = 0
    /// The running section's body and iteration count, written before the helpers' tickets are published and
    /// cleared after they all finished.
    private var body: ((Int) -> Void)?
    private var count = 0

    /// Calls `body(i)` for every `i` in `0..<count`, each exactly once, on up to `threads` threads (the caller's
    /// included), and returns when all calls have returned.
    func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let helperCount = min(count, threads) - 1
        guard helperCount > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0..<count { body(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        while helpers.count < helperCount { start(Helper()) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            nextIndex.store(0, ordering: .relaxed)
            section += 1
            let joining = helpers[..<helperCount]
            // Sequentially consistent with the helpers' `sleepers` increment: either a helper about to sleep sees
            // its ticket, or this sees the sleeper and wakes it (under the condition's lock, so it cannot miss it).
            for helper in joining { helper.ticket.store(section, ordering: .sequentiallyConsistent) }
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wakeUp.lock()
                wakeUp.broadcast()
                wakeUp.unlock()
            }
            work()
            for helper in joining {
                while helper.finished.load(ordering: .acquiring) != section { sched_yield() }
            }
            self.body = nil
        }
    }

    /// Claims and runs iterations of the current section until none are left.
    private func work() {
        while true {
            let i = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < count, let body else { return }
            body(i)
        }
    }

    private func start(_ helper: Helper) {
        helpers.append(helper)
        let thread = Thread { [self] in serve(helper) }
        thread.name = "scalellm-parallel-\(helpers.count)"
        thread.start()
    }

    private func serve(_ helper: Helper) {
        var joined = 0
        while true {
            var polls = 0
            var ticket = helper.ticket.load(ordering: .acquiring)
            while ticket == joined {
                if polls < Self.pollsBeforeSleeping {
                    polls += 1
                    sched_yield()
                } else {
                    wakeUp.lock()
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while helper.ticket.load(ordering: .sequentiallyConsistent) == joined { wakeUp.wait() }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    wakeUp.unlock()
                }
                ticket = helper.ticket.load(ordering: .acquiring)
            }
            joined = ticket
            work()
            helper.finished.store(ticket, ordering: .releasing)
        }
    }
}
