import CProcessGroupShim
import Synchronization

/// How long a waiting rank spins before it sleeps, and how long each sleep lasts before it checks its peers again
/// (the bound on how late a dead or departed peer is noticed).
public struct WaitPolicy: Sendable, Equatable {
    /// Polls of the shared word (with the CPU's pause hint) before the first sleep.
    public var spinIterations: Int
    /// The longest single futex sleep; after each one the waiter checks peers' liveness and its deadline.
    public var sleepSlice: Duration

    /// The defaults spin for roughly 0.1 ms and notice a dead peer within about 5 ms.
    public init(spinIterations: Int = 2000, sleepSlice: Duration = .milliseconds(5)) {
        self.spinIterations = spinIterations
        self.sleepSlice = sleepSlice
    }
}

/// The waiting discipline every rank uses: spin on a shared word, then futex-sleep in slices; between slices check
/// the group's abort word and the peers we wait for (departed? process gone?) and the deadline. The first rank to
/// see a failure records it in the abort word and wakes every sleeper, so all ranks fail with the same error.
struct PeerWatch {
    let payload: UnsafeMutableRawPointer
    let rank: Int
    let size: Int
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
        var value = word.load()
        if done(value) { return }
        for _ in 0..<policy.spinIterations {
            scalellm_cpu_relax()
            value = word.load()
            if done(value) { return }
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
