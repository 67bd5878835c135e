import Foundation

/// Python semantics of the operators templates use: `==`, ordering, `in`, arithmetic and `~`.
///
/// Errors are Python's `TypeError`s turned into runtime errors; arithmetic on Undefined fails with
/// Jinja's "'x' is undefined" message.
enum Operators {
    /// `a == b` (1 == 1.0 == True; lists and tuples never equal each other; Undefined equals Undefined).
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in zip(x.keys, x.values) {
                guard let key = DictKey(k), let other = y[key], equal(v, other) else { return false }
            }
            return true
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.loop(let x), .loop(let y)): return x === y
        default:
            if let x = a.number, let y = b.number {
                switch (x, y) {
                case (.int(let i), .int(let j)): return i == j
                default: return x.double == y.double
                }
            }
            return false
        }
    }

    /// `a < b`, throwing Python's TypeError message for unordered types.
    static func less(_ a: Value, _ b: Value, _ symbol: String = "<") throws(OperatorError) -> Bool {
        switch (a, b) {
        case (.undefined(let hint), _), (_, .undefined(let hint)): throw .undefined(hint)
        case (.string(let x), .string(let y)): return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try less(p, q, symbol) }
            return x.count < y.count
        default:
            if let x = a.number, let y = b.number {
                switch (x, y) {
                case (.int(let i), .int(let j)): return i < j
                default: return x.double < y.double
                }
            }
            throw .type("'\(symbol)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    static func compare(_ op: ComparisonOperator, _ a: Value, _ b: Value) throws(OperatorError) -> Bool {
        switch op {
        case .equal: return equal(a, b)
        case .notEqual: return !equal(a, b)
        case .less: return try less(a, b, "<")
        case .greater: return try less(b, a, ">")
        case .lessOrEqual: return try !less(b, a, "<=")
        case .greaterOrEqual: return try !less(a, b, ">=")
        case .contains: return try contains(b, a)
        case .notContains: return try !contains(b, a)
        }
    }

    /// `item in container`.
    static func contains(_ container: Value, _ item: Value) throws(OperatorError) -> Bool {
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let needle) = item else {
                throw .type("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return PythonString.find(PythonString.scalars(s), PythonString.scalars(needle)) != nil
        case .list(let items), .tuple(let items): return items.contains { equal($0, item) }
        case .dict(let d):
            guard let key = DictKey(item) else { throw .type("unhashable type: '\(item.typeName)'") }
            return d[key] != nil
        case .namespace(let ns):
            guard let key = DictKey(item) else { throw .type("unhashable type: '\(item.typeName)'") }
            return ns.attributes[key] != nil
        default:
            throw .type("argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// Binary arithmetic with Python's rules (true division, floor division and modulo rounding
    /// towards negative infinity, `str * int`, `list + list`).
    static func arithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value, maxLength: Int) throws(OperatorError) -> Value {
        if case .undefined(let hint) = a { throw .undefined(hint) }
        if case .undefined(let hint) = b, !(op == .modulo && a.isString) { throw .undefined(hint) }
        if let x = a.number, let y = b.number { return try numeric(op, x, y) }
        switch (op, a, b) {
        case (.add, .string(let x), .string(let y)):
            if x.utf8.count + y.utf8.count > maxLength { throw .limit("string too long") }
            return .string(x + y)
        case (.add, .list(let x), .list(let y)): return .list(x + y)
        case (.add, .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case (.multiply, .string(let s), _), (.multiply, _, .string(let s)):
            guard let n = (a.index != nil ? a : b).index else { break }
            if n <= 0 { return .string("") }
            if s.utf8.count.multipliedReportingOverflow(by: n).overflow || s.utf8.count * n > maxLength {
                throw .limit("string repetition too long")
            }
            return .string(String(repeating: s, count: n))
        case (.multiply, .list(let items), _), (.multiply, _, .list(let items)),
             (.multiply, .tuple(let items), _), (.multiply, _, .tuple(let items)):
            guard let n = (a.index != nil ? a : b).index else { break }
            var isTuple = false
            if case .tuple = a { isTuple = true }
            if case .tuple = b { isTuple = true }
            if n <= 0 { return isTuple ? .tuple([]) : .list([]) }
            if items.count.multipliedReportingOverflow(by: n).overflow || items.count * n > maxLength {
                throw .limit("sequence repetition too long")
            }
            let repeated = Array([[Value]](repeating: items, count: n).joined())
            return isTuple ? .tuple(repeated) : .list(repeated)
        case (.modulo, .string(let format), _):
            let text = try PercentFormat.format(format, b)
            if text.utf8.count > maxLength { throw .limit("string too long") }
            return .string(text)
        default:
            break
        }
        if op == .add, case .string = a {
            throw .type("can only concatenate str (not \"\(b.typeName)\") to str")
        }
        if op == .add, case .list = a {
            throw .type("can only concatenate list (not \"\(b.typeName)\") to list")
        }
        throw .type("unsupported operand type(s) for \(op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func numeric(_ op: BinaryOperator, _ x: Number, _ y: Number) throws(OperatorError) -> Value {
        if case .int(let i) = x, case .int(let j) = y {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws(OperatorError) -> Value {
                if r.overflow { throw .type("integer overflow") }
                return .int(r.partialValue)
            }
            switch op {
            case .add: return try checked(i.addingReportingOverflow(j))
            case .subtract: return try checked(i.subtractingReportingOverflow(j))
            case .multiply: return try checked(i.multipliedReportingOverflow(by: j))
            case .divide:
                if j == 0 { throw .zeroDivision("division by zero") }
                return .float(Double(i) / Double(j))
            case .floorDivide:
                if j == 0 { throw .zeroDivision("integer division or modulo by zero") }
                if i == .min && j == -1 { throw .type("integer overflow") }
                let q = i / j
                return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
            case .modulo:
                if j == 0 { throw .zeroDivision("integer division or modulo by zero") }
                if j == -1 { return .int(0) }
                let r = i % j
                return .int(r != 0 && (r < 0) != (j < 0) ? r + j : r)
            case .power:
                if j < 0 {
                    if i == 0 { throw .zeroDivision("0.0 cannot be raised to a negative power") }
                    return .float(pow(Double(i), Double(j)))
                }
                var result = 1, base = i, e = j
                while e > 0 {
                    if e & 1 == 1 {
                        let r = result.multipliedReportingOverflow(by: base)
                        if r.overflow { throw .type("integer overflow") }
                        result = r.partialValue
                    }
                    e >>= 1
                    if e > 0 {
                        let r = base.multipliedReportingOverflow(by: base)
                        if r.overflow { throw .type("integer overflow") }
                        base = r.partialValue
                    }
                }
                return .int(result)
            }
        }
        let a = x.double, b = y.double
        switch op {
        case .add: return .float(a + b)
        case .subtract: return .float(a - b)
        case .multiply: return .float(a * b)
        case .divide:
            if b == 0 { throw .zeroDivision("float division by zero") }
            return .float(a / b)
        case .floorDivide:
            if b == 0 { throw .zeroDivision("float floor division by zero") }
            return .float((a / b).rounded(.down))
        case .modulo:
            if b == 0 { throw .zeroDivision("float modulo") }
            let r = a.truncatingRemainder(dividingBy: b)
            if r == 0 { return .float(b < 0 ? -0.0 : 0.0) }
            return .float((r < 0) != (b < 0) ? r + b : r)
        case .power:
            if a == 0 && b < 0 { throw .zeroDivision("0.0 cannot be raised to a negative power") }
            if a < 0 && b.rounded() != b && b.isFinite { throw .type("complex results are not supported") }
            let result = pow(a, b)
            if result.isInfinite && a.isFinite && b.isFinite { throw .type("(34, 'Numerical result out of range')") }
            return .float(result)
        }
    }
}

/// An operator failure, located and converted to ``ChatTemplateError`` by the interpreter.
enum OperatorError: Error {
    case type(String)
    case undefined(String)
    case zeroDivision(String)
    case limit(String)

    func at(_ location: SourceLocation) -> ChatTemplateError {
        switch self {
        case .type(let m), .undefined(let m), .zeroDivision(let m): return location.runtimeError(m)
        case .limit(let m): return .limitExceeded(m)
        }
    }
}
