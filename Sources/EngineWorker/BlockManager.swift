/// Owns the KV-cache blocks: which are free, who uses each (reference counts), and — with prefix caching — which
/// full blocks hold which tokens, so that a new sequence whose prompt starts like an earlier one reuses those
/// blocks instead of recomputing them.
///
/// A full block is identified by a hash of its tokens chained with the hash of every block before it, so equal
/// hashes mean equal prefixes. Blocks nobody uses any more but that hold cached content are kept, least recently
/// used first, and only evicted when a fresh block is needed and the free list is empty.
public struct BlockManager: Sendable {
    public let blockCount: Int
    public let blockSize: Int
    public let prefixCaching: Bool

    private var referenceCounts: [Int32]
    /// Never-used or evicted blocks.
    private var freeList: [Int32]
    /// Content hash of each block that holds a full, registered block of tokens.
    private var blockHash: [UInt64?]
    private var blockByHash: [UInt64: Int32] = [:]
    /// Unreferenced blocks with cached content, in release order (oldest first) with lazy deletion.
    private var evictable = LRUSet<Int32>()

    public init(blockCount: Int, blockSize: Int, prefixCaching: Bool = true) {
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.prefixCaching = prefixCaching
        referenceCounts = Array(repeating: 0, count: blockCount)
        freeList = (0..<Int32(blockCount)).reversed()
        blockHash = Array(repeating: nil, count: blockCount)
    }

    /// Blocks that can be handed out now (free or evictable).
    public var availableCount: Int { freeList.count + evictable.count }
    /// Blocks referenced by at least one sequence.
    public var usedCount: Int { blockCount - availableCount }
    /// Unreferenced blocks still holding cached prefixes.
    public var cachedCount: Int { evictable.count }

    /// The hash of a full block of `tokens` that follows a prefix whose last block hashed to `previous`.
    public static func hash(previous: UInt64, tokens: ArraySlice<Int32>) -> UInt64 {
        // FNV-1a over the previous hash and the token ids: cheap, deterministic across processes.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                h ^= (value >> UInt64(shift)) & 0xFF
                h = h &* 0x100_0000_01b3
            }
        }
        mix(previous)
        for token in tokens { mix(UInt64(UInt32(bitPattern: token))) }
        return h
    }

    /// The cached blocks that hold the leading full blocks of `tokens`, taking a reference on each, and the
    /// chained hash after them. At most `maxBlocks` are returned.
    public mutating func claimCachedPrefix(of tokens: [Int32], maxBlocks: Int) -> (blocks: [Int32], hash: UInt64) {
        var blocks: [Int32] = [], hash: UInt64 = 0
        guard prefixCaching else { return (blocks, hash) }
        while blocks.count < maxBlocks, (blocks.count + 1) * blockSize <= tokens.count {
            let start = blocks.count * blockSize
            let next = Self.hash(previous: hash, tokens: tokens[start..<(start + blockSize)])
            guard let block = blockByHash[next] else { break }
            retain(block)
            blocks.append(block)
            hash = next
        }
        return (blocks, hash)
    }

    /// Takes `n` fresh blocks (evicting cached ones if needed), or nil when fewer than `n` are available.
    public mutating func allocate(_ n: Int) -> [Int32]? {
        guard n <= availableCount else { return nil }
        var blocks: [Int32] = []
        blocks.reserveCapacity(n)
        for _ in 0..<n {
            let block: Int32
            if let free = freeList.popLast() {
                block = free
            } else {
                block = evictable.removeOldest()!
                if let h = blockHash[Int(block)] { blockByHash[h] = nil }
                blockHash[Int(block)] = nil
            }
            referenceCounts[Int(block)] = 1
            blocks.append(block)
        }
        return blocks
    }

    /// Records that `block` now holds the full block of tokens with `hash`, so later prompts can reuse it.
    public mutating func register(_ block: Int32, hash: UInt64) {
        guard prefixCaching, blockHash[Int(block)] == nil, blockByHash[hash] == nil else { return }
        blockHash[Int(block)] = hash
        blockByHash[hash] = block
    }

    /// Drops one reference to each block. Unreferenced blocks with cached content become evictable; others are free.
    public mutating func release(_ blocks: [Int32]) {
        for block in blocks.reversed() {
            let b = Int(block)
            precondition(referenceCounts[b] > 0, "double release of KV block \(block)")
            referenceCounts[b] -= 1
            guard referenceCounts[b] == 0 else { continue }
            if blockHash[b] != nil { evictable.insert(block) } else { freeList.append(block) }
        }
    }

    private mutating func retain(_ block: Int32) {
        if referenceCounts[Int(block)] == 0 { evictable.remove(block) }
        referenceCounts[Int(block)] += 1
    }
}

/// An insertion-ordered set with O(1) insert, remove and remove-oldest, for the evictable-block LRU.
struct LRUSet<Element: Hashable & Sendable>: Sendable {
    private var order: [Element] = []
    private var head = 0
    private var members: [Element: Int] = [:]   // element → its index in `order`

    var count: Int { members.count }

    mutating func insert(_ element: Element) {
        guard members[element] == nil else { return }
        members[element] = order.count
        order.append(element)
    }

    mutating func remove(_ element: Element) { members[element] = nil }

    mutating func removeOldest() -> Element? {
        while head < order.count {
            let element = order[head]
            let index = head
            head += 1
            if members[element] == index {
                members[element] = nil
                compactIfNeeded()
                return element
            }
        }
        return nil
    }

    private mutating func compactIfNeeded() {
        guard head > 1024, head * 2 > order.count else { return }
        order.removeFirst(head)
        head = 0
        for (i, element) in order.enumerated() where members[element] != nil { members[element] = i }
    }
}
