import Synchronization

/// Where a process group keeps its state in the segment's payload (byte offsets from the payload start). Words
/// that different ranks write sit on separate 64-byte cache lines; float areas start on page boundaries.
///
/// ```
/// 0      group header: size, all-reduce capacity (floats), plan capacity (bytes)   (written before "ready")
/// 64     abort word (Atomic<UInt32>): 0, or the encoded first failure any rank saw
/// 128    barrier arrivals (Atomic<UInt32>)
/// 192    barrier generation (FutexWord)
/// 256    plan sequence (FutexWord)
/// 320    plan readers still to read the current plan (FutexWord)
/// 384    plan length (Atomic<UInt64>)
/// 448    one 64-byte RankSlot per rank
/// …      plan payload (plan capacity bytes)
/// page   all-reduce input slot of each rank (capacity floats, rounded up to a page), then the result area
/// ```
struct GroupLayout: Equatable {
    /// Bumped whenever the layout or the protocols on it change.
    static let version: UInt32 = 1
    /// The largest group supported (keeps the slot area small and the arithmetic far from overflow).
    static let maxSize = 256
    /// The largest all-reduce and plan capacities accepted (so offsets cannot overflow).
    static let maxCapacityBytes = 1 << 40

    static let sizeOffset = 0, allReduceCapacityOffset = 8, planCapacityOffset = 16
    static let abortOffset = 64, arrivedOffset = 128, generationOffset = 192
    static let planSequenceOffset = 256, planRemainingOffset = 320, planLengthOffset = 384
    static let slotsOffset = 448, slotStride = 64

    let size: Int
    let allReduceCapacity: Int
    let planCapacity: Int

    var planPayloadOffset: Int { Self.slotsOffset + size * Self.slotStride }
    var reduceStride: Int { Self.roundUp(allReduceCapacity * MemoryLayout<Float>.stride, to: 4096) }
    var reduceSlotsOffset: Int { Self.roundUp(planPayloadOffset + planCapacity, to: 4096) }
    var resultOffset: Int { reduceSlotsOffset + size * reduceStride }
    var totalSize: Int { resultOffset + reduceStride }

    init(size: Int, allReduceCapacity: Int, planCapacity: Int) throws(ProcessGroupError) {
        guard size >= 1, size <= Self.maxSize else { throw .invalidArgument("group size \(size) must be 1…\(Self.maxSize)") }
        guard allReduceCapacity >= 0, allReduceCapacity <= Self.maxCapacityBytes / 4 / size else {
            throw .invalidArgument("all-reduce capacity \(allReduceCapacity) floats")
        }
        guard planCapacity >= 0, planCapacity <= Self.maxCapacityBytes else {
            throw .invalidArgument("plan capacity \(planCapacity) bytes")
        }
        self.size = size
        self.allReduceCapacity = allReduceCapacity
        self.planCapacity = planCapacity
    }

    /// Writes the group header into a fresh (zero-filled) payload.
    func write(to payload: UnsafeMutableRawPointer) {
        payload.storeBytes(of: UInt64(size), toByteOffset: Self.sizeOffset, as: UInt64.self)
        payload.storeBytes(of: UInt64(allReduceCapacity), toByteOffset: Self.allReduceCapacityOffset, as: UInt64.self)
        payload.storeBytes(of: UInt64(planCapacity), toByteOffset: Self.planCapacityOffset, as: UInt64.self)
    }

    /// The layout recorded in an initialised payload.
    static func read(from payload: UnsafeRawPointer) throws(ProcessGroupError) -> GroupLayout {
        try GroupLayout(size: Int(truncatingIfNeeded: payload.load(fromByteOffset: sizeOffset, as: UInt64.self)),
                        allReduceCapacity: Int(truncatingIfNeeded: payload.load(fromByteOffset: allReduceCapacityOffset, as: UInt64.self)),
                        planCapacity: Int(truncatingIfNeeded: payload.load(fromByteOffset: planCapacityOffset, as: UInt64.self)))
    }

    static func roundUp(_ value: Int, to multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
}

/// A rank's 64-byte record in the segment: who it is, how far it got, and a heartbeat.
///
/// `state` is 0 until the rank joins, then `joined`, then `departed` when it closes. `epoch` is the number of
/// barriers it has arrived at and `planAck` the last plan sequence it has read: together they tell a waiting rank
/// which peers it is waiting for. `heartbeat` counts arrivals and sleep slices (a sign of life for diagnostics).
struct RankSlot {
    static let joined: UInt32 = 1, departed: UInt32 = 2

    let base: UnsafeMutableRawPointer

    var pid: UnsafeMutablePointer<Atomic<Int32>> { (base + 0).assumingMemoryBound(to: Atomic<Int32>.self) }
    var state: UnsafeMutablePointer<Atomic<UInt32>> { (base + 4).assumingMemoryBound(to: Atomic<UInt32>.self) }
    var epoch: UnsafeMutablePointer<Atomic<UInt32>> { (base + 8).assumingMemoryBound(to: Atomic<UInt32>.self) }
    var planAck: UnsafeMutablePointer<Atomic<UInt32>> { (base + 12).assumingMemoryBound(to: Atomic<UInt32>.self) }
    var heartbeat: UnsafeMutablePointer<Atomic<UInt64>> { (base + 16).assumingMemoryBound(to: Atomic<UInt64>.self) }
    /// The element count of this rank's current all-reduce (checked against the others').
    var count: UnsafeMutablePointer<Atomic<UInt64>> { (base + 24).assumingMemoryBound(to: Atomic<UInt64>.self) }

    static func of(rank: Int, in payload: UnsafeMutableRawPointer) -> RankSlot {
        RankSlot(base: payload + GroupLayout.slotsOffset + rank * GroupLayout.slotStride)
    }
}
