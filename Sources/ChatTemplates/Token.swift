/// One lexical token of a template: a run of literal text, a tag delimiter, or a token inside a tag.
///
/// The lexer produces a flat stream in the style of Jinja's `TokenStream`; comments and raw blocks
/// are already resolved (raw content arrives as `.text`).
struct Token: Sendable {
    /// The token type, with its text or value.
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// Operators and punctuation: `+ - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { } ;`.
        case op(String)
        case eof
    }

    var kind: Kind
    var location: SourceLocation

    /// How the token is named in error messages (after Jinja's `describe_token`).
    var description: String {
        switch kind {
        case .text: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return n
        case .string: return "string"
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .op(let o): return o
        case .eof: return "end of template"
        }
    }
}
