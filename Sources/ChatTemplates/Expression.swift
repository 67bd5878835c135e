/// An expression node of the template AST (the part inside `{{ }}` and in statement headers).
///
/// The grammar and precedence follow Jinja's parser: conditional `a if c else b` < `or` < `and` <
/// `not` < comparisons (chained, `in`, `not in`) < `+ -` < `~` < `* / // %` < `**` < unary `- +` <
/// postfix (`.attr`, `[index]`, `[a:b:c]`, calls) with filters `|f` and tests `is t` binding to the
/// unary expression on their left.
struct Expression: Sendable {
    var kind: Kind
    var location: SourceLocation

    indirect enum Kind: Sendable {
        case constant(Constant)
        case name(String)
        case list([Expression])
        case tuple([Expression])
        case dict([DictEntry])
        case attribute(Expression, String)
        case item(Expression, Expression)
        /// Only appears as the index of `.item`.
        case slice(Expression?, Expression?, Expression?)
        case call(Expression, CallSyntax)
        case filter(Expression, FilterCall)
        case test(Expression, FilterCall)
        case not(Expression)
        case negate(Expression)
        case plus(Expression)
        case binary(BinaryOperator, Expression, Expression)
        case and(Expression, Expression)
        case or(Expression, Expression)
        /// `a ~ b ~ c`: the string forms joined.
        case concat([Expression])
        case compare(Expression, [Comparison])
        case conditional(test: Expression, then: Expression, otherwise: Expression?)
    }
}

/// A literal value in the source.
enum Constant: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
}

/// `key: value` in a dict literal.
struct DictEntry: Sendable {
    var key: Expression
    var value: Expression
}

/// Arithmetic operators.
enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
}

/// Comparison operators of a (possibly chained) comparison.
enum ComparisonOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
}

/// One `op operand` step of a comparison chain.
struct Comparison: Sendable {
    var op: ComparisonOperator
    var operand: Expression
}

/// A `name=value` call argument.
struct KeywordArgument: Sendable {
    var name: String
    var value: Expression
}

/// The argument list of a call, filter or test: positional, keyword, `*args` and `**kwargs`.
struct CallSyntax: Sendable {
    var positional: [Expression] = []
    var keywords: [KeywordArgument] = []
    var varargs: Expression? = nil
    var kwargs: Expression? = nil
}

/// A filter or test application: `|name(args)` / `is name args`.
struct FilterCall: Sendable {
    var name: String
    var arguments: CallSyntax
    var location: SourceLocation
}
