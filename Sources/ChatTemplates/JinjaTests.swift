/// Jinja's tests (`value is name(args)`), with Python's notion of types: `bool` is a number,
/// strings and dicts are sequences, and Undefined is iterable, a sequence and callable.
enum JinjaTests {
    static let names: Set<String> = [
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
        "mapping", "iterable", "sequence", "callable", "sameas", "escaped", "in", "eq", "equalto", "==",
        "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "odd", "even",
        "divisibleby", "lower", "upper", "filter", "test",
    ]

    /// Tests that take no argument (Jinja fails when one is given, e.g. `x is callable in y`).
    static let unary: Set<String> = [
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
        "mapping", "iterable", "sequence", "callable", "escaped", "odd", "even", "lower", "upper", "filter", "test",
    ]

    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interpreter: Interpreter,
                      _ location: SourceLocation) throws(ChatTemplateError) -> Bool {
        func argument() throws(ChatTemplateError) -> Value {
            guard let a = args.positional.first ?? args.keywords.first?.value else {
                throw location.runtimeError("test '\(name)' requires an argument")
            }
            return a
        }
        func compare(_ op: ComparisonOperator) throws(ChatTemplateError) -> Bool {
            let other = try argument()
            do throws(OperatorError) {
                return try Operators.compare(op, value, other)
            } catch {
                throw error.at(location)
            }
        }
        func integer(_ v: Value) throws(ChatTemplateError) -> Number {
            if case .undefined(let hint) = v { throw location.runtimeError(hint) }
            guard let n = v.number else { throw location.runtimeError("test '\(name)' needs a number, got \(v.typeName)") }
            return n
        }
        if Self.unary.contains(name) && !(args.positional.isEmpty && args.keywords.isEmpty) {
            throw location.runtimeError("test '\(name)' takes no arguments")
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true }; return false
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .float = value { return true }; return false
        case "number": return value.number != nil
        case "string": if case .string = value { return true }; return false
        case "mapping": if case .dict = value { return true }; return false
        case "iterable", "sequence":
            switch value {
            case .undefined, .string, .list, .tuple, .dict: return true
            case .loop: return name == "iterable"
            default: return false
            }
        case "callable":
            switch value {
            case .callable, .undefined, .loop: return true
            default: return false
            }
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)
            default: return false
            }
        case "escaped": return false
        case "in": return try compare(.contains)
        case "eq", "equalto", "==": return try compare(.equal)
        case "ne", "!=": return try compare(.notEqual)
        case "lt", "lessthan", "<": return try compare(.less)
        case "le", "<=": return try compare(.lessOrEqual)
        case "gt", "greaterthan", ">": return try compare(.greater)
        case "ge", ">=": return try compare(.greaterOrEqual)
        case "odd", "even":
            // Python: value % 2 == 1 (odd) or == 0 (even), with a non-negative remainder.
            let remainder: Double
            switch try integer(value) {
            case .int(let i): remainder = Double(i & 1)
            case .float(let d):
                let r = d.truncatingRemainder(dividingBy: 2)
                remainder = r < 0 ? r + 2 : r
            }
            return remainder == (name == "odd" ? 1 : 0)
        case "divisibleby":
            let n = try integer(value), m = try integer(try argument())
            if m.double == 0 { throw location.runtimeError("integer division or modulo by zero") }
            if case .int(let a) = n, case .int(let b) = m { return a % b == 0 }
            return n.double.truncatingRemainder(dividingBy: m.double) == 0
        case "lower", "upper":
            let s = PythonString.scalars(PythonFormatting.str(value)).filter { $0.properties.isCased }
            return !s.isEmpty && s.allSatisfy { name == "lower" ? !$0.properties.isUppercase : !$0.properties.isLowercase }
        case "filter":
            guard case .string(let n) = value else { return false }
            return Filters.names.contains(n)
        case "test":
            guard case .string(let n) = value else { return false }
            return names.contains(n)
        default:
            throw location.runtimeError("no test named '\(name)'")
        }
    }
}
