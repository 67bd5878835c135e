#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProcessGroupShim
import Synchronization

/// How a waiting rank waits: it spins with the CPU's pause hint, then polls calling `sched_yield` (so that a peer
/// sharing its CPU can run), then futex-sleeps in slices; after each slice it checks its peers' liveness and its
/// deadline.
///
/// Measured on the 2-core machine (`scalellm-shm-probe --bench`): a long spin is what keeps two ranks on two CPUs.
/// With short spins (≲ 500 polls), or with any rule that hands the CPU to the peer early (yield or sleep), the
/// alternating ranks look like a producer/consumer pair and the scheduler keeps both on one CPU — 576-float
/// all-reduces take 3–22 µs instead of 0.3–0.4 µs and a 1M-float one runs on one core (300 µs instead of 155 µs).
/// The price of spinning shows only when ranks are forced onto one CPU (oversubscribed machine): ~100 µs per call.
public struct WaitPolicy: Sendable, Equatable {
    /// Polls of the shared word with the pause hint before yielding (about 30 ns each here).
    public var spinIterations: Int
    /// How long to keep polling with `sched_yield` between polls before the first futex sleep.
    public var yieldTime: Duration
    /// The longest single futex sleep: the bound on how late a dead or departed peer is noticed.
    public var sleepSlice: Duration

    /// The defaults spin for about 60 µs, yield for 50 µs, and notice a dead peer within about 5 ms.
    public init(spinIterations: Int = 2000, yieldTime: Duration = .microseconds(50), sleepSlice: Duration = .milliseconds(5)) {
        self.spinIterations = spinIterations
        self.yieldTime = yieldTime
        self.sleepSlice = sleepSlice
    }
}

/// The waiting discipline every rank uses: spin on a shared word, yield, then futex-sleep in slices; between slices check
/// the group's abort word and the peers we wait for (departed? process gone?) and the deadline. The first rank to
/// see a failure records it in the abort word and wakes every sleeper, so all ranks fail with the same error.
struct PeerWatch {
    let payload: UnsafeMutableRawPointer
    let rank: Int
    let size: Int
    /// Peers whose processes this rank started (rank → pid), checked before they have joined.
    let spawnedPeers: [Int: Int32]
    let policy: WaitPolicy

    private var abortWord: UnsafeMutablePointer<Atomic<UInt32>> {
        (payload + GroupLayout.abortOffset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// Every futex word of the group (all are woken when a failure is recorded).
    var words: [FutexWord] {
        [GroupLayout.generationOffset, GroupLayout.planSequenceOffset, GroupLayout.planRemainingOffset].map {
            FutexWord(payload, offset: $0)
        }
    }

    func slot(_ rank: Int) -> RankSlot { RankSlot.of(rank: rank, in: payload) }

    /// Throws the failure some rank recorded, if any.
    @inline(__always)
    func checkRecordedFailure() throws(ProcessGroupError) {
        let code = abortWord.pointee.load(ordering: .acquiring)
        if code != 0 { throw Self.decode(code) }
    }

    /// Waits until `done(word)` holds. `isMissing(r)` tells whether peer `r` is one of those the wait depends on
    /// (re-evaluated at every check). Throws the recorded failure, `.peerClosed`/`.peerDied` for a missing peer, or
    /// `.timedOut(rank:)` (the first missing peer) at the deadline; records what it throws.
    @inline(__always)
    func wait(on word: FutexWord, deadline: ContinuousClock.Instant,
              isMissing: (Int) -> Bool, until done: (UInt32) -> Bool) throws(ProcessGroupError) {
        if done(word.load()) { return }
        for _ in 0..<policy.spinIterations {
            scalellm_cpu_relax()
            if done(word.load()) { return }
        }
        try yieldThenSleep(on: word, deadline: deadline, isMissing: isMissing, until: done)
    }

    private func yieldThenSleep(on word: FutexWord, deadline: ContinuousClock.Instant,
                                isMissing: (Int) -> Bool, until done: (UInt32) -> Bool) throws(ProcessGroupError) {
        let end = ContinuousClock.now + policy.yieldTime
        while ContinuousClock.now < end {
            sched_yield()
            if done(word.load()) { return }
        }
        try slowWait(on: word, deadline: deadline, isMissing: isMissing, until: done)
    }

    private func slowWait(on word: FutexWord, deadline: ContinuousClock.Instant,
                          isMissing: (Int) -> Bool, until done: (UInt32) -> Bool) throws(ProcessGroupError) {
        let slice = Self.nanoseconds(policy.sleepSlice)
        while true {
            var failure: ProcessGroupError? = nil
            do throws(ProcessGroupError) { try checkRecordedFailure() } catch { failure = error }
            if failure == nil { failure = peerFailure(isMissing: isMissing) }
            let now = ContinuousClock.now
            if failure == nil && now >= deadline {
                failure = .timedOut(rank: (0..<size).first { $0 != rank && isMissing($0) } ?? rank)
            }
            // A failure recorded (or a peer leaving) just after the wait completed must not fail this rank.
            let value = word.load()
            if done(value) { return }
            if let failure {
                record(failure)
                throw failure
            }
            word.sleep(whileEqualTo: value, nanoseconds: min(slice, Self.nanoseconds(deadline - now)))
            slot(rank).heartbeat.pointee.add(1, ordering: .relaxed)
            if done(word.load()) { return }
        }
    }

    /// `.peerClosed` or `.peerDied` for the first missing peer that left or whose process is gone.
    private func peerFailure(isMissing: (Int) -> Bool) -> ProcessGroupError? {
        for peer in 0..<size where peer != rank && isMissing(peer) {
            let peerSlot = slot(peer)
            let state = peerSlot.state.pointee.load(ordering: .acquiring)
            if state == RankSlot.departed { return .peerClosed(rank: peer) }
            if state == RankSlot.joined && !ProcessLiveness.isAlive(peerSlot.pid.pointee.load(ordering: .relaxed)) {
                return .peerDied(rank: peer)
            }
            if state != RankSlot.joined, let pid = spawnedPeers[peer], !ProcessLiveness.isAlive(pid) {
                return .peerDied(rank: peer)
            }
        }
        return nil
    }

    /// Records `failure` as the group's failure unless one is recorded already, and wakes all sleepers.
    func record(_ failure: ProcessGroupError) {
        guard let code = Self.encode(failure) else { return }
        _ = abortWord.pointee.compareExchange(expected: 0, desired: code, ordering: .sequentiallyConsistent)
        for word in words { word.wakeAll() }
    }

    // Abort word: kind in the top byte (1 died, 2 timed out, 3 closed), rank below.
    private static func encode(_ failure: ProcessGroupError) -> UInt32? {
        switch failure {
        case .peerDied(let rank): return 1 << 24 | UInt32(rank)
        case .timedOut(let rank): return 2 << 24 | UInt32(rank)
        case .peerClosed(let rank): return 3 << 24 | UInt32(rank)
        default: return nil
        }
    }

    private static func decode(_ code: UInt32) -> ProcessGroupError {
        let rank = Int(code & 0xFF_FFFF)
        switch code >> 24 {
        case 1: return .peerDied(rank: rank)
        case 2: return .timedOut(rank: rank)
        default: return .peerClosed(rank: rank)
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        if seconds > Int64.max / 1_000_000_000 - 1 { return Int64.max / 2 }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
