import Foundation

/// Jinja's filters (`value|name(args)`) as used by chat templates, with transformers' `tojson`.
///
/// Supported: `abs attr capitalize count d default dictsort e escape first float forceescape format indent
/// int items join last length list lower map max min reject rejectattr replace reverse round safe
/// select selectattr sort string sum title tojson trim unique upper`.
enum Filters {
    static let names: Set<String> = [
        "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "format",
        "forceescape", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
        "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
        "sum", "title", "tojson", "trim", "unique", "upper",
    ]

    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interpreter: Interpreter,
                      _ location: SourceLocation) throws(ChatTemplateError) -> Value {
        func text() -> String { PythonFormatting.str(value) }
        func items() throws(ChatTemplateError) -> [Value] { try interpreter.iterate(value, at: location) }
        func flag(_ position: Int, _ key: String, _ d: Bool = false) -> Bool {
            args.value(position, key)?.isTruthy ?? d
        }
        func attributeArgument(_ position: Int) throws(ChatTemplateError) -> String? {
            switch args.value(position, "attribute") {
            case nil, .none?: return nil
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            case let other?: throw location.runtimeError("attribute must be a string, not \(other.typeName)")
            }
        }
        switch name {
        case "safe":
            // Markup(value): a string, even for numbers and lists.
            return .string(text())
        case "string":
            return .string(text())
        case "escape", "e", "forceescape":
            return .string(PythonFormatting.htmlEscape(text()))
        case "format":
            if !args.positional.isEmpty && !args.keywords.isEmpty {
                throw location.runtimeError("can't handle positional and keyword arguments at the same time")
            }
            var mapping = OrderedDict()
            for (k, v) in args.keywords { mapping.set(.string(k), v) }
            do throws(OperatorError) {
                let text = try PercentFormat.format(text(), args.keywords.isEmpty ? .tuple(args.positional) : .dict(mapping))
                if text.utf8.count > interpreter.limits.maxOutputBytes { throw OperatorError.limit("string too long") }
                return .string(text)
            } catch {
                throw error.at(location)
            }
        case "upper":
            return .string(text().uppercased())
        case "lower":
            return .string(text().lowercased())
        case "capitalize":
            return .string(PythonString.capitalize(text()))
        case "title":
            return .string(PythonString.jinjaTitle(text()))
        case "trim":
            var chars: String? = nil
            if case .string(let c)? = args.value(0, "chars") { chars = c }
            return .string(PythonString.strip(text(), chars: chars, leading: true, trailing: true))
        case "replace":
            guard let old = args.value(0, "old"), let new = args.value(1, "new") else {
                throw location.runtimeError("replace filter needs 'old' and 'new'")
            }
            let count = args.value(2, "count")?.index ?? -1
            let result = PythonString.replace(text(), PythonFormatting.str(old), PythonFormatting.str(new), count: count)
            if result.utf8.count > interpreter.limits.maxOutputBytes { throw .limitExceeded("string too long") }
            return .string(result)
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(PythonString.length(s))
            case .list(let a), .tuple(let a): return .int(a.count)
            case .dict(let d): return .int(d.count)
            case .namespace(let ns): return .int(ns.attributes.count)
            case .loop(let context): return .int(try context.length())
            default: throw location.runtimeError("object of type '\(value.typeName)' has no len()")
            }
        case "default", "d":
            let fallback = args.value(0, "default_value") ?? .string("")
            let boolean = flag(1, "boolean")
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "list":
            if case .list = value { return value }
            return .list(try items())
        case "first":
            return try items().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .dict(let d) = value { return d.keys.last ?? .undefined("No last item, sequence was empty.") }
            return try items().last ?? .undefined("No last item, sequence was empty.")
        case "reverse":
            switch value {
            case .string(let s): return .string(PythonString.string(PythonString.scalars(s).reversed()))
            case .list(let a), .tuple(let a): return .list(a.reversed())
            case .dict(let d): return .list(d.keys.reversed())
            default: throw location.runtimeError("argument to reverse() must be a sequence")
            }
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.items)
            default: throw location.runtimeError("Can only get item pairs from a mapping.")
            }
        case "join":
            let separator = PythonFormatting.str(args.value(0, "d") ?? .string(""))
            let attribute = try attributeArgument(1)
            var parts: [String] = []
            for item in try items() {
                let v = attribute == nil ? item : try lookup(item, attribute!, interpreter)
                parts.append(PythonFormatting.str(v))
            }
            return .string(parts.joined(separator: separator))
        case "int":
            if case .undefined(let hint) = value { throw location.runtimeError(hint) }
            let fallback = args.value(0, "default") ?? .int(0)
            let base = args.value(1, "base")?.index ?? 10
            switch value {
            case .int: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d): return Int(exactly: d.rounded(.towardZero)).map { .int($0) } ?? fallback
            case .string(let s):
                let t = PythonString.strip(s, chars: nil, leading: true, trailing: true).replacingUnderscores()
                if let i = Int(t, radix: base) { return .int(i) }
                if base == 10, let d = Double(t), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
                return fallback
            default: return fallback
            }
        case "float":
            if case .undefined(let hint) = value { throw location.runtimeError(hint) }
            let fallback = args.value(0, "default") ?? .float(0)
            switch value {
            case .float: return value
            case .int(let i): return .float(Double(i))
            case .bool(let b): return .float(b ? 1 : 0)
            case .string(let s):
                let t = PythonString.strip(s, chars: nil, leading: true, trailing: true)
                switch t.lowercased() {
                case "inf", "+inf", "infinity", "+infinity": return .float(.infinity)
                case "-inf", "-infinity": return .float(-.infinity)
                case "nan", "+nan", "-nan": return .float(.nan)
                default: return Double(t.replacingUnderscores()).map { .float($0) } ?? fallback
                }
            default: return fallback
            }
        case "abs":
            switch value.number {
            case .int(let i)?: return .int(i == .min ? i : abs(i))
            case .float(let d)?: return .float(abs(d))
            case nil: throw location.runtimeError("bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            guard let number = value.number else { throw location.runtimeError("type \(value.typeName) doesn't define __round__ method") }
            let precision = args.value(0, "precision")?.index ?? 0
            let method = PythonFormatting.str(args.value(1, "method") ?? .string("common"))
            switch method {
            case "common":
                return pythonRound(number, precision)
            case "ceil", "floor":
                let scale = pow10(precision)
                let scaled = (number.double * scale).rounded(method == "ceil" ? .up : .down)
                return .float(scaled / scale)
            default:
                throw location.runtimeError("method must be 'common', 'ceil' or 'floor'")
            }
        case "tojson":
            var indent: String? = nil
            switch args.value(0, "indent") {
            case .int(let n)?: indent = String(repeating: " ", count: max(0, n))
            case .string(let s)?: indent = s
            default: break
            }
            var separators: (String, String)? = nil
            if case .tuple(let pair)? = args.keyword("separators") ?? args.keyword("separators"),
               pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] {
                separators = (a, b)
            } else if case .list(let pair)? = args.keyword("separators"),
                      pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] {
                separators = (a, b)
            }
            let encoder = JSONEncoding(indent: indent, separators: separators,
                                       sortKeys: args.keyword("sort_keys")?.isTruthy ?? false,
                                       ensureASCII: args.keyword("ensure_ascii")?.isTruthy ?? false)
            do throws(OperatorError) {
                return .string(try encoder.encode(value))
            } catch {
                throw error.at(location)
            }
        case "indent":
            let widthArg = args.value(0, "width") ?? .int(4)
            let indentation: String
            if case .string(let s) = widthArg { indentation = s } else { indentation = String(repeating: " ", count: max(0, widthArg.index ?? 4)) }
            let first = flag(1, "first"), blank = flag(2, "blank")
            let lines = PythonString.splitLines(text() + "\n")
            var result: String
            if blank {
                result = lines.joined(separator: "\n" + indentation)
            } else {
                result = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty {
                    result += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
                }
            }
            if first { result = indentation + result }
            return .string(result)
        case "attr":
            return try interpreter.attribute(of: value, PythonFormatting.str(args.value(0, "name") ?? .string("")),
                                             itemFallback: false)
        case "map":
            var mapped: [Value] = []
            if let attribute = args.keyword("attribute").map(PythonFormatting.str) {
                let fallback = args.keyword("default")
                for item in try items() {
                    let v = try lookup(item, attribute, interpreter)
                    mapped.append(v.isUndefined ? (fallback ?? v) : v)
                }
            } else {
                guard case .string(let filter)? = args.positional.first else {
                    throw location.runtimeError("map requires a filter name or attribute=")
                }
                guard names.contains(filter) else { throw location.runtimeError("no filter named '\(filter)'") }
                let rest = args.dropping(1)
                try interpreter.descend()
                defer { interpreter.ascend() }
                for item in try items() { mapped.append(try apply(filter, item, rest, interpreter, location)) }
            }
            return .list(mapped)
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var attribute: String? = nil
            var rest = args
            if byAttribute {
                guard let a = args.positional.first else { throw location.runtimeError("missing parameter for attribute name") }
                attribute = PythonFormatting.str(a)
                rest = args.dropping(1)
            }
            var test: String? = nil
            if let t = rest.positional.first {
                test = PythonFormatting.str(t)
                rest = rest.dropping(1)
                guard JinjaTests.names.contains(test!) else { throw location.runtimeError("no test named '\(test!)'") }
            }
            var selected: [Value] = []
            for item in try items() {
                let subject = attribute == nil ? item : try lookup(item, attribute!, interpreter)
                let passes = test == nil ? subject.isTruthy : try JinjaTests.apply(test!, subject, rest, interpreter, location)
                if passes == keep { selected.append(item) }
            }
            return .list(selected)
        case "sort", "unique", "min", "max":
            let caseSensitive = flag(name == "sort" ? 1 : 0, "case_sensitive")
            let attribute = try attributeArgument(name == "sort" ? 2 : 1)
            let values = try items()
            var keys: [Value] = []
            for item in values {
                var k = attribute == nil ? item : try lookup(item, attribute!, interpreter)
                if !caseSensitive, case .string(let s) = k { k = .string(s.lowercased()) }
                keys.append(k)
            }
            do throws(OperatorError) {
                switch name {
                case "sort":
                    let reverse = flag(0, "reverse")
                    let order = try mergeSort(Array(values.indices)) { (a, b) throws(OperatorError) in
                        reverse ? try Operators.less(keys[b], keys[a]) : try Operators.less(keys[a], keys[b])
                    }
                    return .list(order.map { values[$0] })
                case "unique":
                    var seen: [Value] = []
                    var result: [Value] = []
                    for (item, key) in zip(values, keys) where !seen.contains(where: { Operators.equal($0, key) }) {
                        seen.append(key)
                        result.append(item)
                    }
                    return .list(result)
                default:
                    guard !values.isEmpty else { return .undefined("No aggregated item, sequence was empty.") }
                    var best = 0
                    for i in values.indices.dropFirst() {
                        let better = name == "min" ? try Operators.less(keys[i], keys[best]) : try Operators.less(keys[best], keys[i])
                        if better { best = i }
                    }
                    return values[best]
                }
            } catch {
                throw error.at(location)
            }
        case "sum":
            let attribute = try attributeArgument(0)
            var total = args.value(1, "start") ?? .int(0)
            for item in try items() {
                let v = attribute == nil ? item : try lookup(item, attribute!, interpreter)
                do throws(OperatorError) {
                    total = try Operators.arithmetic(.add, total, v, maxLength: interpreter.limits.maxOutputBytes)
                } catch {
                    throw error.at(location)
                }
            }
            return total
        case "dictsort":
            guard case .dict(let d) = value else { throw location.runtimeError("dictsort expects a mapping") }
            let caseSensitive = flag(0, "case_sensitive")
            let byValue = PythonFormatting.str(args.value(1, "by") ?? .string("key")) == "value"
            let pairs = Array(zip(d.keys, d.values))
            func key(_ i: Int) -> Value {
                let k = byValue ? pairs[i].1 : pairs[i].0
                if !caseSensitive, case .string(let s) = k { return .string(s.lowercased()) }
                return k
            }
            let reverse = flag(2, "reverse")
            do throws(OperatorError) {
                let order = try mergeSort(Array(pairs.indices)) { (a, b) throws(OperatorError) in
                    reverse ? try Operators.less(key(b), key(a)) : try Operators.less(key(a), key(b))
                }
                return .list(order.map { .tuple([pairs[$0].0, pairs[$0].1]) })
            } catch {
                throw error.at(location)
            }
        default:
            throw location.runtimeError("no filter named '\(name)'")
        }
    }

    /// Jinja's `make_attrgetter`: `"a.b.0"` looks up item `a`, then `b`, then index 0.
    static func lookup(_ value: Value, _ attribute: String, _ interpreter: Interpreter) throws(ChatTemplateError) -> Value {
        var v = value
        for part in attribute.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
            v = try interpreter.item(of: v, key)
        }
        return v
    }

    /// Python's `round(x, ndigits)`: ints stay ints; floats are rounded half-to-even on their exact
    /// binary value (so `round(2.675, 2)` is 2.67), which is what C's `%.*f` formatting does.
    static func pythonRound(_ number: Number, _ digits: Int) -> Value {
        switch number {
        case .int(let i):
            if digits >= 0 { return .int(i) }
            let scale = Double(pow10(-digits))
            return .int(Int((Double(i) / scale).rounded(.toNearestOrEven) * scale))
        case .float(let d):
            if !d.isFinite { return .float(d) }
            if digits < 0 {
                let scale = pow10(-digits)
                return .float((d / scale).rounded(.toNearestOrEven) * scale)
            }
            return .float(Double(String(format: "%.*f", min(digits, 340), d)) ?? d)
        }
    }

    private static func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(n) { r *= 10 }
        return n < 0 ? 1 / r : r
    }

    /// A stable sort with a throwing comparison (Python's sort is stable).
    static func mergeSort(_ items: [Int], _ less: (Int, Int) throws(OperatorError) -> Bool) throws(OperatorError) -> [Int] {
        if items.count <= 1 { return items }
        let mid = items.count / 2
        let left = try mergeSort(Array(items[..<mid]), less)
        let right = try mergeSort(Array(items[mid...]), less)
        var merged: [Int] = []
        merged.reserveCapacity(items.count)
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if try less(right[j], left[i]) { merged.append(right[j]); j += 1 } else { merged.append(left[i]); i += 1 }
        }
        merged += left[i...]
        merged += right[j...]
        return merged
    }
}

private extension String {
    /// Python numeric literals allow `_` between digits.
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
