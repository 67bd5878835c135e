/// Expression evaluation: names, literals, operators, attribute/item access, slices, calls,
/// filters and tests.
extension Interpreter {
    func evaluate(_ e: Expression, _ scope: Scope) throws(ChatTemplateError) -> Value {
        switch e.kind {
        case .constant(let c):
            switch c {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .float(d)
            case .string(let s): return .string(s)
            }
        case .name(let name):
            return scope.lookup(name) ?? .undefined("'\(name)' is undefined")
        case .list(let items):
            var values: [Value] = []
            for item in items { values.append(try evaluate(item, scope)) }
            return .list(values)
        case .tuple(let items):
            var values: [Value] = []
            for item in items { values.append(try evaluate(item, scope)) }
            return .tuple(values)
        case .dict(let entries):
            var d = OrderedDict()
            for entry in entries {
                let key = try evaluate(entry.key, scope)
                guard DictKey(key) != nil else { throw entry.key.location.runtimeError("unhashable type: '\(key.typeName)'") }
                d.set(key, try evaluate(entry.value, scope))
            }
            return .dict(d)
        case .attribute(let base, let name):
            return try attribute(of: try evaluate(base, scope), name)
        case .item(let base, let index):
            let container = try evaluate(base, scope)
            if case .slice(let start, let stop, let step) = index.kind {
                return try slice(container, try start.map { (x) throws(ChatTemplateError) in try evaluate(x, scope) },
                                 try stop.map { (x) throws(ChatTemplateError) in try evaluate(x, scope) },
                                 try step.map { (x) throws(ChatTemplateError) in try evaluate(x, scope) }, at: index.location)
            }
            return try item(of: container, try evaluate(index, scope))
        case .slice:
            throw e.location.runtimeError("slice outside of a subscript")
        case .call(let callee, let syntax):
            let function = try evaluate(callee, scope)
            return try call(function, try evaluateArguments(syntax, scope), at: e.location)
        case .filter(let base, let filter):
            let value = try evaluate(base, scope)
            return try Filters.apply(filter.name, value, try evaluateArguments(filter.arguments, scope), self, filter.location)
        case .test(let base, let test):
            let value = try evaluate(base, scope)
            return .bool(try Tests.apply(test.name, value, try evaluateArguments(test.arguments, scope), self, test.location))
        case .not(let x):
            return .bool(!(try evaluate(x, scope).isTruthy))
        case .negate(let x), .plus(let x):
            let v = try evaluate(x, scope)
            let negate: Bool
            if case .negate = e.kind { negate = true } else { negate = false }
            switch v.number {
            case .int(let i)?:
                if !negate { return .int(i) }
                if i == .min { throw e.location.runtimeError("integer overflow") }
                return .int(-i)
            case .float(let d)?:
                return .float(negate ? -d : d)
            case nil:
                if case .undefined(let hint) = v { throw e.location.runtimeError(hint) }
                throw e.location.runtimeError("bad operand type for unary \(negate ? "-" : "+"): '\(v.typeName)'")
            }
        case .binary(let op, let a, let b):
            let left = try evaluate(a, scope)
            let right = try evaluate(b, scope)
            do throws(OperatorError) {
                return try Operators.arithmetic(op, left, right, maxLength: limits.maxOutputBytes)
            } catch {
                throw error.at(e.location)
            }
        case .and(let a, let b):
            let left = try evaluate(a, scope)
            return left.isTruthy ? try evaluate(b, scope) : left
        case .or(let a, let b):
            let left = try evaluate(a, scope)
            return left.isTruthy ? left : try evaluate(b, scope)
        case .concat(let parts):
            var text = ""
            for part in parts { text += PythonFormatting.str(try evaluate(part, scope)) }
            if text.utf8.count > limits.maxOutputBytes { throw .limitExceeded("string too long") }
            return .string(text)
        case .compare(let first, let steps):
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
        case .conditional(let test, let then, let otherwise):
            if try evaluate(test, scope).isTruthy { return try evaluate(then, scope) }
            guard let otherwise else { return .undefined("the inline if-expression evaluated to false and no else section was defined") }
            return try evaluate(otherwise, scope)
        }
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
