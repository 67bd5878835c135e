import Kernels

/// The paged key/value cache of one worker: for every layer a key pool and a value pool of `blockCount` blocks
/// of `layout.dtype` elements, allocated once at start. Which blocks belong to which sequence is the block
/// allocator's business; the cache only stores them.
public final class KVCache: @unchecked Sendable {
    public let layout: PagedKVLayout
    public let blockCount: Int
    let keys: [UnsafeMutableRawPointer]
    let values: [UnsafeMutableRawPointer]

    public init(layerCount: Int, layout: PagedKVLayout, blockCount: Int) {
        self.layout = layout
        self.blockCount = blockCount
        let poolBytes = max(1, blockCount * layout.blockBytes)
        keys = (0..<layerCount).map { _ in .allocate(byteCount: poolBytes, alignment: 64) }
        values = (0..<layerCount).map { _ in .allocate(byteCount: poolBytes, alignment: 64) }
    }

    deinit { (keys + values).forEach { $0.deallocate() } }

    /// Bytes for one block across all layers, keys and values: what a memory budget is divided by.
    public static func bytesPerBlock(layerCount: Int, layout: PagedKVLayout) -> Int {
        2 * layerCount * layout.blockBytes
    }

    public var bytes: Int { blockCount * Self.bytesPerBlock(layerCount: keys.count, layout: layout) }
}
