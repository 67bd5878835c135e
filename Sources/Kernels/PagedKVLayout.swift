/// Where the key (or value) vector of one token lives in the paged KV cache. The cache of one layer is a pool of
/// fixed-size blocks, each `blockSize` tokens × `kvHeadCount` heads × `headDim` floats; a sequence owns a list of
/// blocks (its block table), so token `p` lives in block `table[p / blockSize]` at slot `p % blockSize`.
public struct PagedKVLayout: Sendable, Equatable {
    public let blockSize: Int
    public let kvHeadCount: Int
    public let headDim: Int

    public init(blockSize: Int, kvHeadCount: Int, headDim: Int) {
        self.blockSize = blockSize
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
    }

    /// Floats per token (all KV heads) and per block.
    public var tokenStride: Int { kvHeadCount * headDim }
    public var blockStride: Int { blockSize * tokenStride }

    /// Offset, in floats from the start of a layer's pool, of token `position` of the sequence with `blockTable`.
    @inline(__always)
    public func offset(position: Int, blockTable: UnsafePointer<Int32>) -> Int {
        Int(blockTable[position / blockSize]) * blockStride + (position % blockSize) * tokenStride
    }

    /// Copies the keys and values of `count` tokens (each `tokenStride` floats, rows `stride` apart in the source)
    /// into the cache at positions `firstPosition ..< firstPosition + count`.
    public func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, sourceStride stride: Int, count: Int,
                      firstPosition: Int, blockTable: UnsafePointer<Int32>,
                      keyPool: UnsafeMutablePointer<Float>, valuePool: UnsafeMutablePointer<Float>) {
        for t in 0..<count {
            let at = offset(position: firstPosition + t, blockTable: blockTable)
            (keyPool + at).update(from: keys + t * stride, count: tokenStride)
            (valuePool + at).update(from: values + t * stride, count: tokenStride)
        }
    }
}
