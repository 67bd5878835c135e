/// Hands out KV-cache blocks: a free list over `0..<blockCount` with per-block reference counts, so that a block
/// shared by several sequences (a cached prefix) is returned to the free list only when its last user lets go.
public struct BlockAllocator: Sendable {
    public let blockCount: Int
    private var freeList: [Int32]
    private var referenceCounts: [Int32]

    public init(blockCount: Int) {
        self.blockCount = blockCount
        freeList = (0..<Int32(blockCount)).reversed()
        referenceCounts = Array(repeating: 0, count: blockCount)
    }

    public var freeCount: Int { freeList.count }
    public var usedCount: Int { blockCount - freeList.count }

    /// Takes `n` blocks, or none (nil) when fewer than `n` are free.
    public mutating func allocate(_ n: Int) -> [Int32]? {
        guard n <= freeList.count else { return nil }
        let blocks = Array(freeList.suffix(n))
        freeList.removeLast(n)
        for b in blocks { referenceCounts[Int(b)] = 1 }
        return blocks
    }

    /// Adds a user to an allocated block.
    public mutating func retain(_ block: Int32) {
        precondition(referenceCounts[Int(block)] > 0, "retain of free block \(block)")
        referenceCounts[Int(block)] += 1
    }

    /// Drops one user of each block; blocks nobody uses go back to the free list.
    public mutating func release(_ blocks: [Int32]) {
        for b in blocks {
            precondition(referenceCounts[Int(b)] > 0, "double free of block \(b)")
            referenceCounts[Int(b)] -= 1
            if referenceCounts[Int(b)] == 0 { freeList.append(b) }
        }
    }
}
