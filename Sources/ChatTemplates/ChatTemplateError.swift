/// Why a chat template could not be loaded, parsed or rendered.
///
/// Templates come from untrusted model directories and render untrusted request data, so every
/// problem is reported through this error rather than a crash. Positions are 1-based and refer to
/// the template source after newline normalisation, with columns counted in Unicode scalars.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    /// The source is not valid in the supported Jinja subset (or uses an unsupported tag, filter or test).
    case syntax(line: Int, column: Int, message: String)
    /// The template itself called `raise_exception(message)`, typically to reject a conversation
    /// (roles that do not alternate, an unsupported role). The message is the template's own and is
    /// meant for the API client (the gateway answers 400 with it).
    case raised(String)
    /// Rendering failed at the given expression or statement: a type error, arithmetic on an undefined
    /// value, calling something that is not callable, an unknown method, ...
    case runtime(line: Int, column: Int, message: String)
    /// A safety limit of ``ChatTemplateLimits`` was exceeded (loop iterations, output size, call depth).
    case limitExceeded(String)
    /// A tokenizer configuration could not be read or its `chat_template` field is malformed.
    case invalidConfig(path: String, message: String)

    public var description: String {
        switch self {
        case let .syntax(line, column, message):
            return "chat template syntax error at line \(line), column \(column): \(message)"
        case let .raised(message):
            return message
        case let .runtime(line, column, message):
            return "chat template error at line \(line), column \(column): \(message)"
        case let .limitExceeded(message):
            return "chat template limit exceeded: \(message)"
        case let .invalidConfig(path, message):
            return "invalid chat template configuration \(path): \(message)"
        }
    }
}
