/// Owns the KV-cache blocks: which are free, who uses each (reference counts), and — with prefix caching — which
/// full blocks hold which tokens, so that a new sequence whose prompt starts like an earlier one reuses those
/// blocks instead of recomputing them.
///
/// A full block is found by a hash of its tokens chained with the hash of every block before it. A hash match is
/// only a candidate: each cached block also keeps its tokens and the cached block before it (`CachedBlock`), and
/// a claim takes it only if both equal the requested tokens and the block just claimed, so a hash collision costs
/// a cache miss, never another prompt's keys and values. Blocks nobody uses any more but that hold cached content
/// are kept, least recently used first, and only evicted when a fresh block is needed and the free list is empty.
public struct BlockManager: Sendable {
    /// The chained hash of a full block of `tokens` that follows a prefix whose last block hashed to `previous`.
    public typealias BlockHash = @Sendable (_ previous: UInt64, _ tokens: ArraySlice<Int32>) -> UInt64

    public let blockCount: Int
    public let blockSize: Int
    public let prefixCaching: Bool

    private let hashBlock: BlockHash
    private var referenceCounts: [Int32]
    /// Never-used or evicted blocks.
    private var freeList: [Int32]
    /// What each block holding a registered full block of tokens holds (nil for every other block).
    private var cached: [CachedBlock?]
    /// The cached block of each chained hash; exactly the blocks whose `cached` entry is set.
    private var blockByHash: [UInt64: Int32] = [:]
    /// Unreferenced blocks with cached content, in release order (oldest first) with lazy deletion.
    private var evictable = LRUSet<Int32>()

    /// `hash` chains block hashes (FNV-1a by default; tests inject colliding ones).
    public init(blockCount: Int, blockSize: Int, prefixCaching: Bool = true, hash: @escaping BlockHash = BlockManager.fnv1a) {
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.prefixCaching = prefixCaching
        hashBlock = hash
        referenceCounts = Array(repeating: 0, count: blockCount)
        freeList = (0..<Int32(blockCount)).reversed()
        cached = Array(repeating: nil, count: blockCount)
    }

    /// Blocks that can be handed out now (free or evictable).
    public var availableCount: Int { freeList.count + evictable.count }
    /// Blocks referenced by at least one sequence.
    public var usedCount: Int { blockCount - availableCount }
    /// Unreferenced blocks still holding cached prefixes.
    public var cachedCount: Int { evictable.count }

    /// FNV-1a over the previous hash and the token ids: cheap, deterministic across processes.
    public static func fnv1a(previous: UInt64, tokens: ArraySlice<Int32>) -> UInt64 {
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

    /// The cached blocks that hold the leading full blocks of `tokens`, taking a reference on each, and the chain
    /// they form. At most `maxBlocks` are returned.
    public mutating func claimCachedPrefix(of tokens: [Int32], maxBlocks: Int) -> (blocks: [Int32], chain: PrefixChain) {
        var blocks: [Int32] = [], chain = PrefixChain.empty
        guard prefixCaching else { return (blocks, chain) }
        while blocks.count < maxBlocks, (blocks.count + 1) * blockSize <= tokens.count {
            let start = blocks.count * blockSize
            let blockTokens = tokens[start..<(start + blockSize)]
            let hash = hashBlock(chain.hash, blockTokens)
            guard let block = blockByHash[hash], cached[Int(block)]?.holds(blockTokens, after: chain) == true else { break }
            retain(block)
            blocks.append(block)
            chain = PrefixChain(hash: hash, lastBlock: block)
        }
        return (blocks, chain)
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
                forget(block)
            }
            referenceCounts[Int(block)] = 1
            blocks.append(block)
        }
        return blocks
    }

    /// Records that `block` now holds the full block `tokens` right after `chain`, so later prompts can reuse it,
    /// and returns the chain extended by it. If a block holding the same is already cached, the chain goes on
    /// through that one (the block later claims find) and `block` stays uncached. A cached block with the same hash
    /// but other contents (a collision, or an entry whose predecessor was evicted) gives way to `block`.
    public mutating func register(_ block: Int32, tokens: ArraySlice<Int32>, after chain: PrefixChain) -> PrefixChain {
        guard prefixCaching else { return chain }
        let hash = hashBlock(chain.hash, tokens)
        if let existing = blockByHash[hash] {
            if cached[Int(existing)]!.holds(tokens, after: chain) { return PrefixChain(hash: hash, lastBlock: existing) }
            forget(existing)
            if referenceCounts[Int(existing)] == 0 {
                evictable.remove(existing)
                freeList.append(existing)
            }
        }
        cached[Int(block)] = CachedBlock(hash: hash, tokens: Array(tokens), predecessor: chain.lastBlock)
        blockByHash[hash] = block
        return PrefixChain(hash: hash, lastBlock: block)
    }

    /// Drops one reference to each block. Unreferenced blocks with cached content become evictable; others are free.
    public mutating func release(_ blocks: [Int32]) {
        for block in blocks.reversed() {
            let b = Int(block)
            precondition(referenceCounts[b] > 0, "double release of KV block \(block)")
            referenceCounts[b] -= 1
            guard referenceCounts[b] == 0 else { continue }
            if cached[b] != nil { evictable.insert(block) } else { freeList.append(block) }
        }
    }

    private mutating func retain(_ block: Int32) {
        if referenceCounts[Int(block)] == 0 { evictable.remove(block) }
        referenceCounts[Int(block)] += 1
    }

    /// Drops `block` from the prefix cache (its contents are about to change, or no longer what its hash finds).
    private mutating func forget(_ block: Int32) {
        guard let entry = cached[Int(block)] else { return }
        blockByHash[entry.hash] = nil
        cached[Int(block)] = nil
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
