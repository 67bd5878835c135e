/// Where a sequence's chain of cached full KV blocks ends: the chained hash of every token up to the end of its
/// last full block, and the cached block that holds those last tokens (nil before the first block). The next
/// block's cache entry names that block as its predecessor, which is how a prefix-cache hit is verified link by
/// link instead of being trusted to a 64-bit hash.
public struct PrefixChain: Sendable, Equatable {
    public var hash: UInt64
    public var lastBlock: Int32?

    /// The chain before a sequence's first block.
    public static let empty = PrefixChain(hash: 0, lastBlock: nil)
}
