/// A statement node of the template AST: literal text, an output `{{ }}`, or a `{% %}` statement.
indirect enum Node: Sendable {
    case text(String)
    case output(Expression)
    case ifBlock(branches: [ConditionalBranch], otherwise: [Node])
    case forLoop(ForLoop)
    case assign(AssignTarget, Expression, SourceLocation)
    /// `{% set x | filters %}body{% endset %}`.
    case assignBlock(AssignTarget, filters: [FilterCall], body: [Node], SourceLocation)
    case macro(MacroDefinition)
    case callBlock(CallBlock)
    case filterBlock(filters: [FilterCall], body: [Node])
    case with(bindings: [WithBinding], body: [Node])
    /// A body rendered in its own scope (the `{% generation %}` block of transformers' AssistantTracker).
    case scoped([Node])
    case breakLoop
    case continueLoop
}

/// `if test` / `elif test` with its body.
struct ConditionalBranch: Sendable {
    var test: Expression
    var body: [Node]
}

/// `{% for target in iterable [if condition] [recursive] %}body{% else %}otherwise{% endfor %}`.
struct ForLoop: Sendable {
    var target: AssignTarget
    var iterable: Expression
    var condition: Expression?
    var body: [Node]
    var otherwise: [Node]
    var recursive: Bool
    var location: SourceLocation
}

/// What a `set`, `for` or `with` assigns to.
indirect enum AssignTarget: Sendable {
    case name(String)
    case tuple([AssignTarget])
    /// `ns.attr` in `{% set ns.attr = value %}`.
    case namespaceAttribute(String, String)
}

/// A macro parameter with an optional default.
struct MacroParameter: Sendable {
    var name: String
    var defaultValue: Expression?
}

/// `{% macro name(params) %}body{% endmacro %}`.
struct MacroDefinition: Sendable {
    var name: String
    var parameters: [MacroParameter]
    var body: [Node]
    var location: SourceLocation
}

/// `{% call(params) callee(args) %}body{% endcall %}`: `callee` receives the body as `caller`.
struct CallBlock: Sendable {
    var call: Expression
    var callerParameters: [MacroParameter]
    var body: [Node]
    var location: SourceLocation
}

/// `target = value` of a `with` statement.
struct WithBinding: Sendable {
    var target: AssignTarget
    var value: Expression
}
