/// Why a text file given on the command line (`perplexity --file`) could not be used.
enum TextFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notUTF8(path: String)

    var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read --file \(path): \(reason)"
        case .notUTF8(let path): return "--file \(path) is not UTF-8 text"
        }
    }
}
