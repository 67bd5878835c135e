/// Everything that can be wrong with a model on disk. Each case names the file (and tensor) so that a user who
/// points ScaleLLM at a broken or unsupported checkpoint learns exactly what to fix.
public enum ModelFormatError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case corruptHeader(path: String, reason: String)
    case unsupportedArchitecture(path: String, architecture: String)
    case unsupportedTensorType(path: String, tensor: String, type: String)
    case missingTensor(path: String, tensor: String)
    case tensorShapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    case truncatedTensor(path: String, tensor: String)
    case invalidConfig(path: String, reason: String)
    /// A slice of a block-encoded tensor (tensor parallelism) that cuts through its blocks.
    case unalignedSlice(path: String, tensor: String, columns: Range<Int>, blockElements: Int)
    /// No model was named and the default model is in none of the `searched` paths.
    case defaultModelNotFound(searched: [String])

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file or directory"
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .corruptHeader(let path, let reason): return "\(path): corrupt header: \(reason)"
        case .unsupportedArchitecture(let path, let arch):
            return "\(path): unsupported architecture '\(arch)' (supported: \(ModelFamily.supportedList))"
        case .unsupportedTensorType(let path, let tensor, let type):
            return "\(path): tensor '\(tensor)' has unsupported type \(type) (supported: \(TensorType.supportedList))"
        case .missingTensor(let path, let tensor): return "\(path): missing tensor '\(tensor)'"
        case .tensorShapeMismatch(let path, let tensor, let expected, let found):
            return "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case .truncatedTensor(let path, let tensor): return "\(path): tensor '\(tensor)' extends past the end of the file"
        case .invalidConfig(let path, let reason): return "\(path): invalid model configuration: \(reason)"
        case .unalignedSlice(let path, let tensor, let columns, let blockElements):
            return "\(path): tensor '\(tensor)': columns \(columns.lowerBound)..<\(columns.upperBound) do not start and end on its blocks of \(blockElements)"
        case .defaultModelNotFound(let searched):
            return "the default model \(DefaultModel.fileName) is not at " + searched.joined(separator: ", ")
                + " (run scripts/setup.sh to fetch it, set \(DefaultModel.cacheVariable) to the directory holding it, or pass --model)"
        }
    }
}
