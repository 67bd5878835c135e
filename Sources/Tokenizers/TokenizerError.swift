/// Why a tokenizer could not be built.
///
/// Loading untrusted model directories must never crash the server, so every problem with the input
/// files (missing, malformed, or using a feature this implementation does not reproduce) is reported
/// through this error with the file and the offending part named.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A required file does not exist or cannot be read.
    case fileNotReadable(path: String, reason: String)
    /// The file is not valid JSON, or a required field is missing or has the wrong type.
    case malformed(file: String, detail: String)
    /// The file asks for a tokenizer component this implementation does not support.
    case unsupported(file: String, feature: String)

    public var description: String {
        switch self {
        case let .fileNotReadable(path, reason):
            return "tokenizer: cannot read \(path): \(reason)"
        case let .malformed(file, detail):
            return "tokenizer: malformed \(file): \(detail)"
        case let .unsupported(file, feature):
            return "tokenizer: \(file) uses unsupported \(feature)"
        }
    }
}
