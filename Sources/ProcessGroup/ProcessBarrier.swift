import Synchronization

/// A barrier across the ranks of a process group, on atomics in the shared segment.
///
/// Generation-counting (sense-reversing) design: each rank reads the generation, records its arrival in its
/// `RankSlot.epoch` and increments the arrival counter; the last to arrive resets the counter and publishes the next
/// generation, the others spin and then futex-sleep until the generation changes. The counter's acquire-release
/// increments and the generation's release/acquire make every write before the barrier visible after it.
/// `wait(deadline:)` never hangs: it throws `.peerDied`, `.peerClosed` or `.timedOut` naming a rank that did not
/// arrive (see `PeerWatch`). Use from one thread per rank.
public final class ProcessBarrier {
    private let watch: PeerWatch
    private let arrived: UnsafeMutablePointer<Atomic<UInt32>>
    private let generation: FutexWord
    private var epoch: UInt32 = 0

    init(watch: PeerWatch) {
        self.watch = watch
        arrived = (watch.payload + GroupLayout.arrivedOffset).assumingMemoryBound(to: Atomic<UInt32>.self)
        generation = FutexWord(watch.payload, offset: GroupLayout.generationOffset)
    }

    /// Barriers this rank has passed.
    public var completed: Int { Int(epoch) }

    /// Returns when every rank of the group has called `wait` as many times as this one.
    public func wait(deadline: ContinuousClock.Instant) throws(ProcessGroupError) {
        try watch.checkRecordedFailure()
        let size = watch.size
        let target = epoch &+ 1
        epoch = target
        if size == 1 { return }
        let mine = watch.slot(watch.rank)
        mine.epoch.pointee.store(target, ordering: .releasing)
        mine.heartbeat.pointee.add(1, ordering: .relaxed)
        if arrived.pointee.add(1, ordering: .acquiringAndReleasing).newValue == UInt32(size) {
            arrived.pointee.store(0, ordering: .relaxed)
            generation.store(target)
            return
        }
        let payload = watch.payload
        try watch.wait(on: generation, deadline: deadline,
                       isMissing: { RankSlot.of(rank: $0, in: payload).epoch.pointee.load(ordering: .acquiring) != target },
                       until: { $0 == target })
    }
}
