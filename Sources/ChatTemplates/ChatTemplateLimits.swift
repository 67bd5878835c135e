/// Safety limits applied while parsing and rendering a chat template.
///
/// A template is code from a model repository and its inputs come from API clients; these caps turn
/// runaway templates (huge or nested loops, unbounded macro recursion, exploding string repetition)
/// into a ``ChatTemplateError/limitExceeded(_:)`` (or, for nesting, a syntax error) instead of a
/// hung or crashed server.
public struct ChatTemplateLimits: Sendable, Equatable {
    /// Total loop iterations (including items tested by a loop's `if` filter) in one render.
    public var maxIterations: Int
    /// Total UTF-8 bytes produced in one render, counting text captured by macros and `set` blocks.
    public var maxOutputBytes: Int
    /// Nesting of macro calls, `caller()` and recursive `loop(...)` calls.
    public var maxCallDepth: Int
    /// Nesting of blocks, and height of expressions, accepted by the parser (bounds the parser's
    /// recursion and the size of each expression tree).
    public var maxNestingDepth: Int
    /// Nested evaluation levels while rendering (expressions, blocks and macro bodies together),
    /// which bounds the interpreter's stack use (under 512 KiB at the defaults in unoptimised builds,
    /// a fraction of that in release builds).
    public var maxRenderDepth: Int

    public init(maxIterations: Int = 1_000_000, maxOutputBytes: Int = 16 << 20,
                maxCallDepth: Int = 32, maxNestingDepth: Int = 32, maxRenderDepth: Int = 96) {
        self.maxIterations = maxIterations
        self.maxOutputBytes = maxOutputBytes
        self.maxCallDepth = maxCallDepth
        self.maxNestingDepth = maxNestingDepth
        self.maxRenderDepth = maxRenderDepth
    }

    /// The limits used by ``ChatTemplate/init(source:)``.
    public static let standard = ChatTemplateLimits()
}
