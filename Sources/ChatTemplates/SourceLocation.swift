/// A 1-based line and column in template source (after newline normalisation), in Unicode scalars.
///
/// Carried by every token and AST node so that syntax and runtime errors can point at the
/// offending part of a template.
struct SourceLocation: Sendable, Equatable {
    var line: Int
    var column: Int

    /// Builds a syntax error at this position.
    func syntaxError(_ message: String) -> ChatTemplateError {
        .syntax(line: line, column: column, message: message)
    }

    /// Builds a runtime error at this position.
    func runtimeError(_ message: String) -> ChatTemplateError {
        .runtime(line: line, column: column, message: message)
    }
}
