/// Engine settings a model cannot be served with, found when the engine is built (a start-up error; requests
/// the engine refuses are `EngineError`s).
public enum EngineConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The KV-cache budget holds less than one block of `blockSize` tokens, which needs `bytesPerBlock` bytes.
    case kvCacheTooSmall(budgetBytes: Int, bytesPerBlock: Int, blockSize: Int)

    public var description: String {
        switch self {
        case .kvCacheTooSmall(let budget, let perBlock, let blockSize):
            return "--kv-cache-memory is \(budget) bytes, less than one KV-cache block: a block of \(blockSize) tokens "
                + "needs \(perBlock) bytes for this model; give --kv-cache-memory at least \(perBlock) bytes"
        }
    }
}
