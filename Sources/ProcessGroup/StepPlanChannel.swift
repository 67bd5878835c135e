import Synchronization

/// Rank 0 broadcasts each step's plan (opaque bytes) to the other ranks through the shared segment.
///
/// `publish` waits until every other rank has read the previous plan (the `remaining` readers word reaches zero),
/// copies the bytes and their length into the segment, sets `remaining` to size − 1 and publishes the next sequence
/// number (release; sleepers are woken). `receive` waits for the sequence number after the last one it read, copies
/// the bytes out, records the sequence in its `RankSlot.planAck` and decrements `remaining` (waking rank 0 when it
/// reaches zero). Both waits use the group's spin-then-futex discipline with deadlines and liveness checks.
/// Use from one thread per rank.
public final class StepPlanChannel {
    /// The largest plan, in bytes, fixed when the segment was created.
    public let capacity: Int
    private let watch: PeerWatch
    private let sequenceWord: FutexWord
    private let remaining: FutexWord
    private let length: UnsafeMutablePointer<Atomic<UInt64>>
    private let bytes: UnsafeMutableRawPointer
    private var sequence: UInt32 = 0

    init(layout: GroupLayout, watch: PeerWatch) {
        capacity = layout.planCapacity
        self.watch = watch
        sequenceWord = FutexWord(watch.payload, offset: GroupLayout.planSequenceOffset)
        remaining = FutexWord(watch.payload, offset: GroupLayout.planRemainingOffset)
        length = (watch.payload + GroupLayout.planLengthOffset).assumingMemoryBound(to: Atomic<UInt64>.self)
        bytes = watch.payload + layout.planPayloadOffset
    }

    /// Plans this rank has published (rank 0) or received (others).
    public var count: Int { Int(sequence) }

    /// Rank 0: makes `plan` the next plan. Returns once it is in the segment (not when it has been read).
    public func publish(_ plan: UnsafeRawBufferPointer, deadline: ContinuousClock.Instant) throws(ProcessGroupError) {
        guard watch.rank == 0 else { throw .invalidArgument("only rank 0 publishes plans (this is rank \(watch.rank))") }
        guard plan.count <= capacity else { throw .capacityExceeded(what: "plan of \(plan.count) bytes", requested: plan.count, capacity: capacity) }
        try watch.checkRecordedFailure()
        let previous = sequence
        let payload = watch.payload
        try watch.wait(on: remaining, deadline: deadline,
                       isMissing: { RankSlot.of(rank: $0, in: payload).planAck.pointee.load(ordering: .acquiring) != previous },
                       until: { $0 == 0 })
        if let source = plan.baseAddress { bytes.copyMemory(from: source, byteCount: plan.count) }
        length.pointee.store(UInt64(plan.count), ordering: .relaxed)
        remaining.value.pointee.store(UInt32(watch.size - 1), ordering: .relaxed)
        sequence = previous &+ 1
        sequenceWord.store(sequence)
    }

    /// Rank 0: publishes a byte array.
    public func publish(_ plan: [UInt8], deadline: ContinuousClock.Instant) throws(ProcessGroupError) {
        // (Array.withUnsafeBytes is `rethrows`, which loses the error type.)
        var outcome: Result<Void, ProcessGroupError> = .success(())
        plan.withUnsafeBytes { raw in
            outcome = Result { () throws(ProcessGroupError) in try publish(raw, deadline: deadline) }
        }
        try outcome.get()
    }

    /// Ranks other than 0: waits for the next plan and returns its bytes.
    public func receive(deadline: ContinuousClock.Instant) throws(ProcessGroupError) -> [UInt8] {
        guard watch.rank != 0 else { throw .invalidArgument("rank 0 publishes plans; it cannot receive them") }
        try watch.checkRecordedFailure()
        let next = sequence &+ 1
        try watch.wait(on: sequenceWord, deadline: deadline, isMissing: { $0 == 0 }, until: { $0 == next })
        let count = Int(length.pointee.load(ordering: .relaxed))
        guard count <= capacity else {
            throw .incompatibleSegment(name: "plan channel", reason: "plan length \(count) exceeds capacity \(capacity)")
        }
        let plan = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: bytes, byteCount: count) }
            initialized = count
        }
        sequence = next
        watch.slot(watch.rank).planAck.pointee.store(next, ordering: .releasing)
        _ = remaining.decrement()
        return plan
    }
}
