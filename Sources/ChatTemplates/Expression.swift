/// An expression node of the template AST (the part inside `{{ }}` and in statement headers).
///
/// The grammar and precedence follow Jinja's parser: conditional `a if c else b` < `or` < `and` <
/// `not` < comparisons (chained, `in`, `not in`) < `+ -` < `~` < `* / // %` < `**` < unary `- +` <
/// postfix (`.attr`, `[index]`, `[a:b:c]`, calls) with filters `|f` and tests `is t` binding to the
/// unary expression on their left.
struct Expression: Sendable {
    var kind: Kind
    var location: SourceLocation
    /// Levels of nested expressions, this one included. The parser refuses expressions higher than
    /// ``ChatTemplateLimits/maxNestingDepth`` so evaluation (which recurses once per level) stays
    /// within a bounded stack, also for left-deep chains such as `a|f|f|f` or `a.b.c.d`.
    let height: Int

    init(kind: Kind, location: SourceLocation) {
        self.kind = kind
        self.location = location
        self.height = 1 + kind.children.reduce(0) { max($0, $1.height) }
    }

    /// What the expression is, with its sub-expressions.
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
        /// `a + b - c`: a left-associative chain of operators of one precedence level, flattened so
        /// that long chains (common when templates build strings with `+`) do not nest.
        case arithmetic(Expression, [ArithmeticStep])
        /// `a and b and c` / `a or b or c`.
        case logical(isAnd: Bool, [Expression])
        /// `a ~ b ~ c`: the string forms joined.
        case concat([Expression])
        case compare(Expression, [Comparison])
        case conditional(test: Expression, then: Expression, otherwise: Expression?)

        /// The direct sub-expressions, including call, filter and test arguments.
        var children: [Expression] {
            switch self {
            case .constant, .name: return []
            case .list(let items), .tuple(let items), .concat(let items), .logical(_, let items): return items
            case .dict(let entries): return entries.flatMap { [$0.key, $0.value] }
            case .attribute(let base, _): return [base]
            case .item(let base, let index): return [base, index]
            case .slice(let a, let b, let c): return [a, b, c].compactMap { $0 }
            case .call(let callee, let args): return [callee] + args.expressions
            case .filter(let base, let f), .test(let base, let f): return [base] + f.arguments.expressions
            case .not(let x), .negate(let x), .plus(let x): return [x]
            case .arithmetic(let first, let steps): return [first] + steps.map(\.operand)
            case .compare(let first, let steps): return [first] + steps.map(\.operand)
            case .conditional(let test, let then, let otherwise): return [test, then] + (otherwise.map { [$0] } ?? [])
            }
        }
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

/// One `op operand` step of an arithmetic chain; `location` is the operator's.
struct ArithmeticStep: Sendable {
    var op: BinaryOperator
    var operand: Expression
    var location: SourceLocation
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

    /// Every argument expression.
    var expressions: [Expression] {
        positional + keywords.map(\.value) + [varargs, kwargs].compactMap { $0 }
    }
}

/// A filter or test application: `|name(args)` / `is name args`.
struct FilterCall: Sendable {
    var name: String
    var arguments: CallSyntax
    var location: SourceLocation
}
