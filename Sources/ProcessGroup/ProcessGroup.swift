#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One rank's membership in a group of worker processes (tensor parallelism on one machine) that share a POSIX
/// shared-memory segment: a barrier, an in-place all-reduce (sum) of float vectors and rank 0's step-plan channel.
///
/// Rank 0 creates the segment `/scalellm-<group>-shm` (replacing a leftover whose creator died), the other ranks
/// open it; each rank then claims its `RankSlot` (pid, heartbeat) and all meet at a first barrier, so `init`
/// returns once the whole group is present — or throws by `connectTimeout`. Every operation waits at most
/// `operationTimeout` (`receivePlan`: `planTimeout`) and fails with `ProcessGroupError.peerDied`/`.peerClosed`/
/// `.timedOut` when a peer dies, leaves or stops answering; after any error the group stays failed. `close()` (or
/// deinit) marks the rank as departed and unmaps; rank 0 also unlinks the segment name — as does any rank that
/// closes after rank 0 died — and before creating it removes every `/scalellm-*` segment left by a crashed run.
/// Use each instance from one thread.
public final class ProcessGroup {
    /// What a rank needs to join. Rank 0's capacities define the segment; other ranks must pass the same ones.
    public struct Configuration: Sendable, Equatable {
        /// The group's name (letters, digits, `.`, `_`, `-`): the segment is `/scalellm-<group>-shm`.
        public var group: String
        /// This process's rank, 0 ..< size.
        public var rank: Int
        /// Number of ranks.
        public var size: Int
        /// The longest vector `allReduceSum` accepts, in floats.
        public var allReduceCapacity: Int
        /// The largest plan `publishPlan` accepts, in bytes.
        public var planCapacity: Int
        /// How long `init` waits for the segment and the other ranks.
        public var connectTimeout: Duration
        /// How long any single operation waits for the other ranks (`receivePlan` excepted).
        public var operationTimeout: Duration
        /// How long `receivePlan` waits for rank 0's next plan. A rank 0 that has nothing to do publishes nothing,
        /// so a serving group sets this far above `operationTimeout`; a dead or departed rank 0 is noticed
        /// within a sleep slice either way.
        public var planTimeout: Duration
        /// Spinning and sleeping while waiting.
        public var waitPolicy: WaitPolicy
        /// Processes this rank started for its peers (rank → pid), e.g. rank 0 of a worker group: a peer whose
        /// process is gone before it joins is then `peerDied` at once, not a join timeout.
        public var spawnedPeers: [Int: Int32]

        public init(group: String, rank: Int, size: Int, allReduceCapacity: Int, planCapacity: Int = 1 << 20,
                    connectTimeout: Duration = .seconds(30), operationTimeout: Duration = .seconds(60),
                    planTimeout: Duration? = nil, waitPolicy: WaitPolicy = WaitPolicy(), spawnedPeers: [Int: Int32] = [:]) {
            self.spawnedPeers = spawnedPeers
            self.group = group
            self.rank = rank
            self.size = size
            self.allReduceCapacity = allReduceCapacity
            self.planCapacity = planCapacity
            self.connectTimeout = connectTimeout
            self.operationTimeout = operationTimeout
            self.planTimeout = planTimeout ?? operationTimeout
            self.waitPolicy = waitPolicy
        }
    }

    /// The configuration this rank joined with.
    public let configuration: Configuration
    /// This process's rank.
    public var rank: Int { configuration.rank }
    /// Number of ranks in the group.
    public var size: Int { configuration.size }
    /// The shared segment (its name, creator pid).
    public let segment: SharedMemorySegment
    /// The group barrier (the one `synchronize` uses).
    public let barrier: ProcessBarrier
    /// The all-reduce over the segment.
    public let allReduce: AllReduce
    /// Rank 0's plan broadcast.
    public let plans: StepPlanChannel

    private let watch: PeerWatch
    private var failure: ProcessGroupError?
    private var isClosed = false

    /// Joins the group: creates (rank 0) or opens the segment, claims this rank's slot, waits for all ranks.
    public init(_ configuration: Configuration) throws(ProcessGroupError) {
        let layout = try GroupLayout(size: configuration.size, allReduceCapacity: configuration.allReduceCapacity,
                                     planCapacity: configuration.planCapacity)
        guard (0..<configuration.size).contains(configuration.rank) else {
            throw .invalidArgument("rank \(configuration.rank) is not in 0..<\(configuration.size)")
        }
        let name = try SharedMemorySegment.name(group: configuration.group)
        let deadline = ContinuousClock.now + configuration.connectTimeout
        let segment: SharedMemorySegment
        if configuration.rank == 0 {
            // Leftovers of crashed runs (any group) go first; create() itself replaces a dead one of this name.
            SharedMemorySegment.removeStale()
            segment = try SharedMemorySegment.create(name: name, payloadSize: layout.totalSize,
                                                     layoutVersion: GroupLayout.version) { layout.write(to: $0) }
        } else {
            segment = try SharedMemorySegment.open(name: name, layoutVersion: GroupLayout.version, deadline: deadline)
            let found = try GroupLayout.read(from: segment.payload)
            guard found == layout, segment.payloadSize >= layout.totalSize else {
                throw .incompatibleSegment(name: name, reason: "created for \(found.size) ranks, \(found.allReduceCapacity) floats, "
                                           + "\(found.planCapacity) plan bytes; this rank expects \(layout.size), "
                                           + "\(layout.allReduceCapacity), \(layout.planCapacity)")
            }
        }
        self.configuration = configuration
        self.segment = segment
        watch = PeerWatch(payload: segment.payload, rank: configuration.rank, size: configuration.size,
                          spawnedPeers: configuration.spawnedPeers,
                          policy: configuration.waitPolicy)
        barrier = ProcessBarrier(watch: watch)
        allReduce = AllReduce(layout: layout, rank: configuration.rank, payload: segment.payload, barrier: barrier)
        plans = StepPlanChannel(layout: layout, watch: watch)

        // Claim the slot by its pid first, so that a peer never sees the rank joined without a pid to check.
        let slot = watch.slot(configuration.rank)
        let claim = slot.pid.pointee.compareExchange(expected: 0, desired: getpid(), ordering: .sequentiallyConsistent)
        guard claim.exchanged else {
            isClosed = true
            segment.close()
            throw .rankTaken(rank: configuration.rank, pid: claim.original)
        }
        slot.state.pointee.store(RankSlot.joined, ordering: .sequentiallyConsistent)
        do {
            try barrier.wait(deadline: deadline)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Waits until every rank has called `synchronize` as often as this one.
    public func synchronize() throws(ProcessGroupError) {
        try run(within: configuration.operationTimeout) { (deadline) throws(ProcessGroupError) in try barrier.wait(deadline: deadline) }
    }

    /// Replaces `buffer` with the element-wise sum over all ranks (every rank passes the same count).
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(ProcessGroupError) {
        try run(within: configuration.operationTimeout) { (deadline) throws(ProcessGroupError) in
            try allReduce.sum(buffer, deadline: deadline)
        }
    }

    /// Replaces `values` with the element-wise sum over all ranks.
    public func allReduceSum(_ values: inout [Float]) throws(ProcessGroupError) {
        try values.withUnsafeMutableBufferPointer { (buffer) throws(ProcessGroupError) in try allReduceSum(buffer) }
    }

    /// Rank 0: broadcasts the next step plan.
    public func publishPlan(_ plan: [UInt8]) throws(ProcessGroupError) {
        try run(within: configuration.operationTimeout) { (deadline) throws(ProcessGroupError) in
            try plans.publish(plan, deadline: deadline)
        }
    }

    /// Other ranks: the next step plan from rank 0 (waits at most `planTimeout`).
    public func receivePlan() throws(ProcessGroupError) -> [UInt8] {
        var plan: [UInt8] = []
        try run(within: configuration.planTimeout) { (deadline) throws(ProcessGroupError) in plan = try plans.receive(deadline: deadline) }
        return plan
    }

    /// The pid and heartbeat counter `rank` last wrote in its slot (0, 0 before it joined).
    public func heartbeat(of rank: Int) -> (pid: Int32, beats: UInt64) {
        guard !isClosed, (0..<size).contains(rank) else { return (0, 0) }
        let slot = watch.slot(rank)
        return (slot.pid.pointee.load(ordering: .relaxed), slot.heartbeat.pointee.load(ordering: .relaxed))
    }

    /// Leaves the group: marks this rank departed (peers still waiting for it fail with `.peerClosed`), unmaps the
    /// segment, and unlinks its name on rank 0 — or on any rank once rank 0 (the creator) is dead, so that a
    /// crashed rank 0 leaves no segment behind its surviving ranks. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        watch.slot(rank).state.pointee.store(RankSlot.departed, ordering: .sequentiallyConsistent)
        for word in watch.words { word.wakeAll() }
        segment.close()
    }

    /// Runs one operation that may wait `timeout`; remembers the first failure and rethrows it afterwards.
    private func run(within timeout: Duration, _ operation: (ContinuousClock.Instant) throws(ProcessGroupError) -> Void) throws(ProcessGroupError) {
        guard !isClosed else { throw .closed }
        if let failure { throw failure }
        do {
            try operation(ContinuousClock.now + timeout)
        } catch {
            switch error {
            case .peerDied, .timedOut, .peerClosed, .countMismatch: failure = error
            default: break
            }
            throw error
        }
    }
}
