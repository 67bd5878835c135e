/// Engine settings a model cannot be served with, found when the engine is built (a start-up error; requests
/// the engine refuses are `EngineError`s).
public enum EngineConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The KV-cache budget holds less than one block of `blockSize` tokens, which needs `bytesPerBlock` bytes.
    case kvCacheTooSmall(budgetBytes: Int, bytesPerBlock: Int, blockSize: Int)
    /// The weights and the KV pool together need more than the memory available at start: refused there rather
    /// than killed for memory once requests touch the pool (or, for mapped weights, page them in).
    case insufficientMemory(weightBytes: Int, kvCacheBytes: Int, availableBytes: Int)

    /// Refuses a model whose `weightBytes` and a KV pool of `kvCacheBytes` exceed `availableBytes` (the memory
    /// available before the model was loaded).
    public static func checkMemory(weightBytes: Int, kvCacheBytes: Int, availableBytes: Int) throws(EngineConfigurationError) {
        guard weightBytes + kvCacheBytes <= availableBytes else {
            throw .insufficientMemory(weightBytes: weightBytes, kvCacheBytes: kvCacheBytes, availableBytes: availableBytes)
        }
    }

    public var description: String {
        switch self {
        case .kvCacheTooSmall(let budget, let perBlock, let blockSize):
            return "--kv-cache-memory is \(budget) bytes, less than one KV-cache block: a block of \(blockSize) tokens "
                + "needs \(perBlock) bytes for this model; give --kv-cache-memory at least \(perBlock) bytes"
        case .insufficientMemory(let weights, let kv, let available):
            return "the model's weights (\(ByteSize(bytes: weights))) and the KV cache (\(ByteSize(bytes: kv))) need "
                + "\(ByteSize(bytes: weights + kv)), but only \(ByteSize(bytes: available)) of memory is available; "
                + "lower --kv-cache-memory or hold the weights in fewer bytes (--dtype auto, q4_0)"
        }
    }
}
