/// Expression evaluation: names, literals, operators, attribute/item access, slices, calls,
/// filters and tests.
extension Interpreter {
    /// Evaluates an expression. Each case delegates to a small function so that one level of
    /// expression nesting costs little stack, even in unoptimised builds.
    func evaluate(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        // Cases bind nothing here (payloads are extracted by the helpers): in unoptimised builds
        // every binding would get its own slot in this frame, which recursion multiplies.
        try descend()
        defer { ascend() }
        switch e.kind {
        case .constant: return constant(e)
        case .name: return lookup(e, scope)
        case .list, .tuple: return try evaluateSequence(e, scope)
        case .dict: return try evaluateDict(e, scope)
        case .attribute: return try evaluateAttribute(e, scope)
        case .item: return try evaluateItem(e, scope)
        case .slice: throw e.location.runtimeError("slice outside of a subscript")
        case .call: return try evaluateCall(e, scope)
        case .filter: return try evaluateFilter(e, scope)
        case .test: return try evaluateTest(e, scope)
        case .not: return try evaluateNot(e, scope)
        case .negate, .plus: return try evaluateSign(e, scope)
        case .arithmetic: return try evaluateArithmetic(e, scope)
        case .logical: return try evaluateLogical(e, scope)
        case .concat: return try evaluateConcat(e, scope)
        case .compare: return try evaluateCompare(e, scope)
        case .conditional: return try evaluateConditional(e, scope)
        }
    }

    private func constant(_ e: Expression) -> Value {
        guard case .constant(let c) = e.kind else { return .none }
        switch c {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        }
    }

    private func lookup(_ e: Expression, _ scope: Scope) -> Value {
        guard case .name(let name) = e.kind else { return .none }
        return scope.lookup(name) ?? .undefined("'\(name)' is undefined")
    }

    private func evaluateSequence(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        switch e.kind {
        case .list(let items): return .list(try evaluateAll(items, scope))
        case .tuple(let items): return .tuple(try evaluateAll(items, scope))
        default: return .none
        }
    }

    private func evaluateAll(_ items: [Expression], _ scope: Scope) throws(ChatTemplateError) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(items.count)
        for item in items { values.append(try evaluate(item, scope)) }
        return values
    }

    private func evaluateDict(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .dict(let entries) = e.kind else { return .none }
        var d = OrderedDict()
        for entry in entries {
            let key = try evaluate(entry.key, scope)
            guard DictKey(key) != nil else { throw entry.key.location.runtimeError("unhashable type: '\(key.typeName)'") }
            d.set(key, try evaluate(entry.value, scope))
        }
        return .dict(d)
    }

    private func evaluateAttribute(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .attribute(let base, let name) = e.kind else { return .none }
        let value = try evaluate(base, scope)
        return try attribute(of: value, name)
    }

    private func evaluateItem(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .item(let base, let index) = e.kind else { return .none }
        let container = try evaluate(base, scope)
        guard case .slice(let start, let stop, let step) = index.kind else {
            return try item(of: container, try evaluate(index, scope))
        }
        let bounds = try evaluateAll([start, stop, step].map { $0 ?? Expression(kind: .constant(.none), location: index.location) }, scope)
        return try slice(container, bounds[0], bounds[1], bounds[2], at: index.location)
    }

    private func evaluateCall(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .call(let callee, let syntax) = e.kind else { return .none }
        let function = try evaluate(callee, scope)
        return try call(function, try evaluateArguments(syntax, scope), at: e.location)
    }

    private func evaluateFilter(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .filter(let base, let filter) = e.kind else { return .none }
        let value = try evaluate(base, scope)
        return try Filters.apply(filter.name, value, try evaluateArguments(filter.arguments, scope), self, filter.location)
    }

    private func evaluateTest(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .test(let base, let test) = e.kind else { return .none }
        let value = try evaluate(base, scope)
        return .bool(try JinjaTests.apply(test.name, value, try evaluateArguments(test.arguments, scope), self, test.location))
    }

    private func evaluateNot(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .not(let x) = e.kind else { return .none }
        return .bool(!(try evaluate(x, scope).isTruthy))
    }

    private func evaluateSign(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        let negate: Bool
        let x: Expression
        switch e.kind {
        case .negate(let operand): (negate, x) = (true, operand)
        case .plus(let operand): (negate, x) = (false, operand)
        default: return .none
        }
        let location = e.location
        let v = try evaluate(x, scope)
        switch v.number {
        case .int(let i)?:
            if !negate { return .int(i) }
            if i == .min { throw location.runtimeError("integer overflow") }
            return .int(-i)
        case .float(let d)?:
            return .float(negate ? -d : d)
        case nil:
            if case .undefined(let hint) = v { throw location.runtimeError(hint) }
            throw location.runtimeError("bad operand type for unary \(negate ? "-" : "+"): '\(v.typeName)'")
        }
    }

    private func evaluateArithmetic(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .arithmetic(let first, let steps) = e.kind else { return .none }
        var left = try evaluate(first, scope)
        for step in steps {
            let right = try evaluate(step.operand, scope)
            do throws(OperatorError) {
                left = try Operators.arithmetic(step.op, left, right, maxLength: limits.maxOutputBytes)
            } catch {
                throw error.at(step.location)
            }
        }
        return left
    }

    /// `and` / `or` return one of their operands, as in Python.
    private func evaluateLogical(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .logical(let isAnd, let operands) = e.kind else { return .none }
        var value = Value.none
        for (i, operand) in operands.enumerated() {
            value = try evaluate(operand, scope)
            if i < operands.count - 1 && value.isTruthy != isAnd { return value }
        }
        return value
    }

    private func evaluateConcat(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .concat(let parts) = e.kind else { return .none }
        var text = ""
        for part in parts { text += PythonFormatting.str(try evaluate(part, scope)) }
        if text.utf8.count > limits.maxOutputBytes { throw .limitExceeded("string too long") }
        return .string(text)
    }

    private func evaluateCompare(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .compare(let first, let steps) = e.kind else { return .none }
        var left = try evaluate(first, scope)
        for step in steps {
            let right = try evaluate(step.operand, scope)
            do throws(OperatorError) {
                if !(try Operators.compare(step.op, left, right)) { return .bool(false) }
            } catch {
                throw error.at(step.operand.location)
            }
            left = right
        }
        return .bool(true)
    }

    private func evaluateConditional(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        guard case .conditional(let test, let then, let otherwise) = e.kind else { return .none }
        if try evaluate(test, scope).isTruthy { return try evaluate(then, scope) }
        guard let otherwise else {
            return .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
        return try evaluate(otherwise, scope)
    }

    func evaluateArguments(_ syntax: CallSyntax, _ scope: Scope) throws(ChatTemplateError) -> Arguments {
        var args = Arguments()
        for e in syntax.positional { args.positional.append(try evaluate(e, scope)) }
        if let varargs = syntax.varargs {
            args.positional += try iterate(try evaluate(varargs, scope), at: varargs.location)
        }
        for keyword in syntax.keywords { args.keywords.append((keyword.name, try evaluate(keyword.value, scope))) }
        if let kwargs = syntax.kwargs {
            let v = try evaluate(kwargs, scope)
            guard case .dict(let d) = v else { throw kwargs.location.runtimeError("argument after ** must be a mapping, not \(v.typeName)") }
            for (k, value) in zip(d.keys, d.values) {
                guard case .string(let name) = k else { throw kwargs.location.runtimeError("keywords must be strings") }
                args.keywords.append((name, value))
            }
        }
        return args
    }

    /// How Jinja names an object in "has no attribute" messages.
    private func objectName(_ v: Value) -> String {
        if case .none = v { return "None" }
        return "\(v.typeName) object"
    }

    /// `value.name`: a method of the value's type, else (for dicts, unless `itemFallback` is false as
    /// for the `attr` filter) the item `name`; anything missing is Undefined. Attribute access on
    /// Undefined stays Undefined.
    func attribute(of value: Value, _ name: String, itemFallback: Bool = true) throws(ChatTemplateError) -> Value {
        switch value {
        case .undefined:
            return value
        case .dict(let d):
            if Methods.dictMethods.contains(name) { return .callable(.method(value, name)) }
            if itemFallback, let v = d[name] { return v }
        case .string:
            if Methods.stringMethods.contains(name) { return .callable(.method(value, name)) }
        case .list, .tuple:
            if Methods.sequenceMethods.contains(name) { return .callable(.method(value, name)) }
        case .namespace(let ns):
            if let v = ns.attributes[name] { return v }
        case .loop(let context):
            if let v = try context.attribute(name) { return v }
        default:
            break
        }
        return .undefined("'\(objectName(value))' has no attribute '\(name)'")
    }

    /// `value[key]`: sequence index (negative from the end), dict item, else the attribute `key`.
    func item(of value: Value, _ key: Value) throws(ChatTemplateError) -> Value {
        switch value {
        case .undefined:
            return value
        case .list(let items), .tuple(let items):
            if let i = key.index {
                let j = i < 0 ? i + items.count : i
                if j >= 0 && j < items.count { return items[j] }
                return .undefined("'\(objectName(value))' has no element \(i)")
            }
        case .string(let s):
            if let i = key.index {
                let scalars = PythonString.scalars(s)
                let j = i < 0 ? i + scalars.count : i
                if j >= 0 && j < scalars.count { return .string(String(scalars[j])) }
                return .undefined("'str object' has no element \(i)")
            }
        case .dict(let d):
            if let k = DictKey(key), let v = d[k] { return v }
        default:
            break
        }
        if case .string(let name) = key { return try attribute(of: value, name) }
        return .undefined("'\(objectName(value))' has no element \(PythonFormatting.repr(key))")
    }

    /// `value[start:stop:step]` with Python's index adjustment.
    func slice(_ value: Value, _ start: Value?, _ stop: Value?, _ step: Value?, at location: SourceLocation) throws(ChatTemplateError) -> Value {
        func bound(_ v: Value?) throws(ChatTemplateError) -> Int? {
            guard let v else { return nil }
            if case .none = v { return nil }
            guard let i = v.index else {
                throw location.runtimeError("slice indices must be integers or None or have an __index__ method")
            }
            return i
        }
        let stepValue = try bound(step) ?? 1
        if stepValue == 0 { throw location.runtimeError("slice step cannot be zero") }
        let lower = try bound(start), upper = try bound(stop)
        func pick<T>(_ items: [T]) -> [T] {
            Self.sliceIndices(count: items.count, start: lower, stop: upper, step: stepValue).map { items[$0] }
        }
        switch value {
        case .list(let items): return .list(pick(items))
        case .tuple(let items): return .tuple(pick(items))
        case .string(let s): return .string(PythonString.string(pick(PythonString.scalars(s))))
        case .undefined: return value
        default: return .undefined("'\(objectName(value))' cannot be sliced")
        }
    }

    static func sliceIndices(count: Int, start: Int?, stop: Int?, step: Int) -> [Int] {
        var indices: [Int] = []
        if step > 0 {
            func clamp(_ i: Int) -> Int { i < 0 ? max(0, i + count) : min(i, count) }
            var i = start.map(clamp) ?? 0
            let end = stop.map(clamp) ?? count
            while i < end { indices.append(i); i += step }
        } else {
            func clamp(_ i: Int) -> Int { i < 0 ? max(-1, i + count) : min(i, count - 1) }
            var i = start.map(clamp) ?? count - 1
            let end = stop.map(clamp) ?? -1
            while i > end { indices.append(i); i += step }
        }
        return indices
    }
}
