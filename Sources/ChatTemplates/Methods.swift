/// Python methods templates call on values: `str` (`strip`, `split`, `startswith`, `replace`, ...),
/// `dict` (`items`, `keys`, `values`, `get`), `list`/`tuple` (`index`, `count`) and the loop's
/// `cycle`/`changed`. Mutating methods (`append`, `update`, ...) are absent, as in transformers'
/// immutable sandbox.
enum Methods {
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith",
        "upper", "lower", "title", "capitalize", "swapcase", "casefold", "replace", "find", "rfind",
        "index", "rindex", "count", "join", "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum",
        "isspace", "isupper", "islower", "istitle", "removeprefix", "removesuffix", "zfill",
        "center", "ljust", "rjust", "partition", "rpartition",
    ]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get", "copy"]
    static let sequenceMethods: Set<String> = ["index", "count"]

    static func call(_ receiver: Value, _ name: String, _ args: Arguments, _ interpreter: Interpreter,
                     _ location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch receiver {
        case .string(let s): return try stringMethod(s, name, args, interpreter, location)
        case .dict(let d): return try dictMethod(d, name, args, location)
        case .list(let items), .tuple(let items): return try sequenceMethod(items, name, args, location)
        case .loop(let context):
            if name == "cycle" {
                guard !args.positional.isEmpty else { throw location.runtimeError("no items for cycling given") }
                return args.positional[context.index0 % args.positional.count]
            }
            return .bool(context.changed(args.positional))
        default:
            throw location.runtimeError("'\(receiver.typeName)' object has no method '\(name)'")
        }
    }

    /// A string argument, or nil when absent or None.
    private static func optionalString(_ v: Value?, _ what: String, _ location: SourceLocation) throws(ChatTemplateError) -> String? {
        switch v {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case let other?: throw location.runtimeError("\(what) must be str or None, not \(other.typeName)")
        }
    }

    private static func requiredString(_ v: Value?, _ what: String, _ location: SourceLocation) throws(ChatTemplateError) -> String {
        guard case .string(let s)? = v else {
            throw location.runtimeError("\(what) must be str, not \(v?.typeName ?? "nothing")")
        }
        return s
    }

    private static func int(_ v: Value?, default d: Int, _ location: SourceLocation) throws(ChatTemplateError) -> Int {
        guard let v else { return d }
        guard let i = v.index else { throw location.runtimeError("'\(v.typeName)' object cannot be interpreted as an integer") }
        return i
    }

    private static func affixes(_ v: Value?, _ location: SourceLocation) throws(ChatTemplateError) -> [String] {
        switch v {
        case .string(let s)?: return [s]
        case .tuple(let items)?, .list(let items)?:
            var out: [String] = []
            for item in items { out.append(try requiredString(item, "tuple item", location)) }
            return out
        default: throw location.runtimeError("startswith/endswith first arg must be str or a tuple of str")
        }
    }

    private static func stringMethod(_ s: String, _ name: String, _ args: Arguments, _ interpreter: Interpreter,
                                     _ location: SourceLocation) throws(ChatTemplateError) -> Value {
        let scalars = PythonString.scalars(s)
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try optionalString(args.value(0, "chars"), "strip arg", location)
            return .string(PythonString.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let sep = try optionalString(args.value(0, "sep"), "separator", location)
            if sep == "" { throw location.runtimeError("empty separator") }
            let maxSplit = try int(args.value(1, "maxsplit"), default: -1, location)
            let parts = name == "split" ? PythonString.split(s, separator: sep, maxSplit: maxSplit)
                                        : PythonString.rsplit(s, separator: sep, maxSplit: maxSplit)
            return .list(parts.map { .string($0) })
        case "splitlines":
            let keep = args.value(0, "keepends")?.isTruthy ?? false
            return .list(PythonString.splitLines(s, keepEnds: keep).map { .string($0) })
        case "startswith", "endswith":
            for affix in try affixes(args.value(0, "prefix"), location) {
                let a = PythonString.scalars(affix)
                if name == "startswith" ? scalars.starts(with: a) : scalars.reversed().starts(with: a.reversed()) {
                    return .bool(true)
                }
            }
            return .bool(false)
        case "upper": return .string(s.uppercased())
        case "lower", "casefold": return .string(s.lowercased())
        case "title": return .string(PythonString.title(s))
        case "capitalize": return .string(PythonString.capitalize(s))
        case "swapcase":
            var out = ""
            for c in s.unicodeScalars {
                out += c.properties.isUppercase ? c.properties.lowercaseMapping
                    : c.properties.isLowercase ? c.properties.uppercaseMapping : String(c)
            }
            return .string(out)
        case "replace":
            let old = try requiredString(args.value(0, "old"), "replace() argument 1", location)
            let new = try requiredString(args.value(1, "new"), "replace() argument 2", location)
            let count = try int(args.value(2, "count"), default: -1, location)
            let result = PythonString.replace(s, old, new, count: count)
            if result.utf8.count > interpreter.limits.maxOutputBytes { throw .limitExceeded("string too long") }
            return .string(result)
        case "find", "index", "rfind", "rindex":
            let needle = PythonString.scalars(try requiredString(args.value(0, "sub"), "\(name)() argument", location))
            let found = name.hasPrefix("r") ? PythonString.rfind(scalars, needle) : PythonString.find(scalars, needle)
            if let found { return .int(found) }
            if name.hasSuffix("index") { throw location.runtimeError("substring not found") }
            return .int(-1)
        case "count":
            return .int(PythonString.count(s, try requiredString(args.value(0, "sub"), "count() argument", location)))
        case "join":
            var parts: [String] = []
            for item in try interpreter.iterate(args.value(0, "iterable") ?? .list([]), at: location) {
                guard case .string(let p) = item else {
                    throw location.runtimeError("sequence item \(parts.count): expected str instance, \(item.typeName) found")
                }
                parts.append(p)
            }
            return .string(parts.joined(separator: s))
        case "isdigit", "isdecimal", "isnumeric":
            return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.isPythonWhitespace })
        case "isupper", "islower":
            let cased = scalars.filter { $0.properties.isCased }
            let test: (Unicode.Scalar) -> Bool = name == "isupper" ? { !$0.properties.isLowercase } : { !$0.properties.isUppercase }
            return .bool(!cased.isEmpty && cased.allSatisfy(test))
        case "istitle": return .bool(!scalars.isEmpty && PythonString.title(s) == s && scalars.contains { $0.properties.isCased })
        case "removeprefix", "removesuffix":
            let affix = PythonString.scalars(try requiredString(args.value(0, "affix"), "\(name)() argument", location))
            if name == "removeprefix", scalars.starts(with: affix) { return .string(PythonString.string(scalars.dropFirst(affix.count))) }
            if name == "removesuffix", !affix.isEmpty, scalars.reversed().starts(with: affix.reversed()) {
                return .string(PythonString.string(scalars.dropLast(affix.count)))
            }
            return .string(s)
        case "zfill", "center", "ljust", "rjust":
            let width = try int(args.value(0, "width"), default: 0, location)
            if width > interpreter.limits.maxOutputBytes { throw .limitExceeded("string too long") }
            let pad = width - scalars.count
            if pad <= 0 { return .string(s) }
            if name == "zfill" {
                if let first = scalars.first, first == "+" || first == "-" {
                    return .string(String(first) + String(repeating: "0", count: pad) + PythonString.string(scalars.dropFirst()))
                }
                return .string(String(repeating: "0", count: pad) + s)
            }
            let fill = try optionalString(args.value(1, "fillchar"), "fill character", location) ?? " "
            if name == "ljust" { return .string(s + String(repeating: fill, count: pad)) }
            if name == "rjust" { return .string(String(repeating: fill, count: pad) + s) }
            let left = pad / 2 + (pad & width & 1)
            return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left))
        case "partition", "rpartition":
            let sep = PythonString.scalars(try requiredString(args.value(0, "sep"), "separator", location))
            if sep.isEmpty { throw location.runtimeError("empty separator") }
            let found = name == "partition" ? PythonString.find(scalars, sep) : PythonString.rfind(scalars, sep)
            guard let at = found else {
                return name == "partition" ? .tuple([.string(s), .string(""), .string("")])
                                           : .tuple([.string(""), .string(""), .string(s)])
            }
            return .tuple([.string(PythonString.string(scalars[..<at])), .string(PythonString.string(sep)),
                           .string(PythonString.string(scalars[(at + sep.count)...]))])
        default:
            throw location.runtimeError("'str' object has no method '\(name)'")
        }
    }

    private static func dictMethod(_ d: OrderedDict, _ name: String, _ args: Arguments,
                                   _ location: SourceLocation) throws(ChatTemplateError) -> Value {
        switch name {
        case "items": return .list(d.items)
        case "keys": return .list(d.keys)
        case "values": return .list(d.values)
        case "copy": return .dict(d)
        case "get":
            guard let key = args.value(0, "key") else { throw location.runtimeError("get expected at least 1 argument, got 0") }
            guard let k = DictKey(key) else { throw location.runtimeError("unhashable type: '\(key.typeName)'") }
            return d[k] ?? args.value(1, "default") ?? .none
        default:
            throw location.runtimeError("'dict' object has no method '\(name)'")
        }
    }

    private static func sequenceMethod(_ items: [Value], _ name: String, _ args: Arguments,
                                       _ location: SourceLocation) throws(ChatTemplateError) -> Value {
        guard let needle = args.value(0, "value") else { throw location.runtimeError("\(name)() takes exactly one argument") }
        if name == "count" { return .int(items.filter { Operators.equal($0, needle) }.count) }
        guard let i = items.firstIndex(where: { Operators.equal($0, needle) }) else {
            throw location.runtimeError("\(PythonFormatting.repr(needle)) is not in list")
        }
        return .int(i)
    }
}
