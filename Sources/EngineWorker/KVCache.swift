import Kernels

/// The paged key/value cache of one worker: for every layer a key pool and a value pool of `blockCount` blocks,
/// allocated once at start. Which blocks belong to which sequence is the block allocator's business; the cache
/// only stores floats.
public final class KVCache: @unchecked Sendable {
    public let layout: PagedKVLayout
    public let blockCount: Int
    let keys: [FloatBuffer]
    let values: [FloatBuffer]

    public init(layerCount: Int, layout: PagedKVLayout, blockCount: Int) {
        self.layout = layout
        self.blockCount = blockCount
        keys = (0..<layerCount).map { _ in FloatBuffer(count: blockCount * layout.blockStride, zeroed: false) }
        values = (0..<layerCount).map { _ in FloatBuffer(count: blockCount * layout.blockStride, zeroed: false) }
    }

    /// Bytes for one block across all layers, keys and values: what a memory budget is divided by.
    public static func bytesPerBlock(layerCount: Int, layout: PagedKVLayout) -> Int {
        2 * layerCount * layout.blockStride * MemoryLayout<Float>.stride
    }

    public var bytes: Int { blockCount * Self.bytesPerBlock(layerCount: keys.count, layout: layout) }
}
