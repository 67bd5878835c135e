import CFloatKernels

/// Where the key (or value) vector of one token lives in the paged KV cache. The cache of one layer is a pool of
/// fixed-size blocks, each `blockSize` tokens × `kvHeadCount` heads × `headDim` elements of `dtype` (for fp8
/// followed by the block's scales, one float per token and head); a sequence owns a list of blocks (its block
/// table), so token `p` lives in block `table[p / blockSize]` at slot `p % blockSize`.
public struct PagedKVLayout: Sendable, Equatable {
    public let blockSize: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let dtype: KVCacheDType

    public init(blockSize: Int, kvHeadCount: Int, headDim: Int, dtype: KVCacheDType = .f32) {
        self.blockSize = blockSize
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.dtype = dtype
    }

    /// Elements per token (all KV heads).
    public var tokenStride: Int { kvHeadCount * headDim }

    /// Bytes of one block of one layer's key (or value) pool, scales included.
    public var blockBytes: Int { scalellm_kv_block_bytes(blockSize, kvHeadCount, headDim, dtype.code) }

    /// Converts the keys and values of `count` tokens (each `tokenStride` floats, rows `stride` apart in the
    /// source) to `dtype` and stores them in the cache at positions `firstPosition ..< firstPosition + count`.
    public func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, sourceStride stride: Int, count: Int,
                      firstPosition: Int, blockTable: UnsafePointer<Int32>,
                      keyPool: UnsafeMutableRawPointer, valuePool: UnsafeMutableRawPointer,
                      instructionSet: InstructionSet = .best) {
        scalellm_kv_store(keys, stride, count, firstPosition, blockTable, blockSize, kvHeadCount, headDim, dtype.code,
                          keyPool, instructionSet.rawValue)
        scalellm_kv_store(values, stride, count, firstPosition, blockTable, blockSize, kvHeadCount, headDim, dtype.code,
                          valuePool, instructionSet.rawValue)
    }
}
