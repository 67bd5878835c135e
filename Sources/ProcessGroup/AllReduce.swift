/// Sum of float vectors across the ranks of a process group, in place, through the shared segment.
///
/// Each call: every rank copies its vector into its input slot (all but its own chunk, which it reads from its
/// buffer directly); barrier; rank r sums chunk r of all inputs — in rank order, so every rank ends with the same
/// bits — into the shared result area and its own buffer (reduce-scatter); barrier; every rank copies the other
/// chunks of the result into its buffer (all-gather). Two barriers per call are enough: a rank writes its input
/// slot again only after the second barrier (nobody reads inputs after it), and writes the result area again only
/// after the next call's first barrier (which every rank reaches only after its copy-out). Chunks are multiples
/// of 16 floats (cache lines), so any count works, including counts smaller than or not divisible by the size.
/// Use from one thread per rank.
public final class AllReduce {
    /// The largest vector, in floats, fixed when the segment was created.
    public let capacity: Int
    private let rank: Int
    private let size: Int
    private let barrier: ProcessBarrier
    private let inputs: [UnsafeMutablePointer<Float>]
    private let result: UnsafeMutablePointer<Float>
    private let countWords: [RankSlot]
    /// One source pointer per rank, rebuilt for each call (own buffer for this rank, input slots for the others).
    private let sources: UnsafeMutablePointer<UnsafePointer<Float>>

    init(layout: GroupLayout, rank: Int, payload: UnsafeMutableRawPointer, barrier: ProcessBarrier) {
        capacity = layout.allReduceCapacity
        self.rank = rank
        size = layout.size
        self.barrier = barrier
        inputs = (0..<layout.size).map {
            (payload + layout.reduceSlotsOffset + $0 * layout.reduceStride).assumingMemoryBound(to: Float.self)
        }
        result = (payload + layout.resultOffset).assumingMemoryBound(to: Float.self)
        countWords = (0..<layout.size).map { RankSlot.of(rank: $0, in: payload) }
        sources = .allocate(capacity: layout.size)
        for r in 0..<layout.size { sources[r] = UnsafePointer(inputs[r]) }
    }

    deinit { sources.deallocate() }

    /// The chunk of `count` elements that `rank` reduces: multiples of 16 floats, the last chunks possibly short
    /// or empty.
    public static func chunk(of rank: Int, count: Int, size: Int) -> Range<Int> {
        let per = ((count + size - 1) / size + 15) / 16 * 16
        let lower = min(rank * per, count)
        return lower..<min(lower + per, count)
    }

    /// Replaces `buffer` with the element-wise sum of every rank's `buffer`. All ranks must pass the same count.
    public func sum(_ buffer: UnsafeMutableBufferPointer<Float>, deadline: ContinuousClock.Instant) throws(ProcessGroupError) {
        let count = buffer.count
        guard count <= capacity else { throw .capacityExceeded(what: "all-reduce of \(count) floats", requested: count, capacity: capacity) }
        guard size > 1 else { return }
        guard count > 0, let local = buffer.baseAddress else {
            // Still synchronise, so that ranks stay in step even for empty vectors.
            countWords[rank].count.pointee.store(0, ordering: .relaxed)
            try barrier.wait(deadline: deadline)
            try checkCounts(0)
            return try barrier.wait(deadline: deadline)
        }
        let own = Self.chunk(of: rank, count: count, size: size)
        let input = inputs[rank]
        input.update(from: local, count: own.lowerBound)
        (input + own.upperBound).update(from: local + own.upperBound, count: count - own.upperBound)
        countWords[rank].count.pointee.store(UInt64(count), ordering: .relaxed)

        try barrier.wait(deadline: deadline)
        try checkCounts(count)
        sources[rank] = UnsafePointer(local)
        Self.reduce(sources, ranks: size, range: own, into: result, and: local)
        sources[rank] = UnsafePointer(input)

        try barrier.wait(deadline: deadline)
        local.update(from: result, count: own.lowerBound)
        (local + own.upperBound).update(from: result + own.upperBound, count: count - own.upperBound)
    }

    /// Throws `.countMismatch` (on every rank alike) when ranks passed different counts.
    private func checkCounts(_ count: Int) throws(ProcessGroupError) {
        for r in 0..<size {
            let theirs = Int(countWords[r].count.pointee.load(ordering: .relaxed))
            if theirs != count { throw .countMismatch(rank: r, count: theirs, expected: count) }
        }
    }

    /// `first[i] = second[i] = Σ_r sources[r][i]` for i in `range`, summed in rank order, 16 lanes at a time.
    /// (`second` may be one of the sources: each element is read from all sources before it is written.)
    @inline(__always)
    static func reduce(_ sources: UnsafeMutablePointer<UnsafePointer<Float>>, ranks: Int, range: Range<Int>,
                       into first: UnsafeMutablePointer<Float>, and second: UnsafeMutablePointer<Float>) {
        var i = range.lowerBound
        let end = range.upperBound
        if ranks == 2 {
            let a = UnsafeRawPointer(sources[0]), b = UnsafeRawPointer(sources[1])
            while i + 16 <= end {
                let offset = i * 4
                let sum = a.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                    + b.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(first).storeBytes(of: sum, toByteOffset: offset, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(second).storeBytes(of: sum, toByteOffset: offset, as: SIMD16<Float>.self)
                i += 16
            }
        } else {
            while i + 16 <= end {
                let offset = i * 4
                var sum = UnsafeRawPointer(sources[0]).loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                for r in 1..<ranks { sum += UnsafeRawPointer(sources[r]).loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) }
                UnsafeMutableRawPointer(first).storeBytes(of: sum, toByteOffset: offset, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(second).storeBytes(of: sum, toByteOffset: offset, as: SIMD16<Float>.self)
                i += 16
            }
        }
        while i < end {
            var sum = sources[0][i]
            for r in 1..<ranks { sum += sources[r][i] }
            first[i] = sum
            second[i] = sum
            i += 1
        }
    }
}
