import ModelFormats

/// A runtime value seen by a template: the Python objects a Jinja template manipulates when
/// transformers renders it (None, bool, int, float, str, list, tuple, dict) plus Jinja's own
/// Undefined, namespaces, macros, bound methods and the `loop` object.
enum Value {
    /// Jinja's default `Undefined`: prints as "", is falsy, iterates as empty; arithmetic on it fails
    /// with `hint` (e.g. "'foo' is undefined").
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case tuple([Value])
    case dict(OrderedDict)
    case namespace(Namespace)
    case callable(Callable)
    case loop(LoopContext)

    /// Converts request JSON. JSON objects become dicts with their keys in sorted order, because
    /// `JSONValue` does not keep the document's key order.
    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .integer(let i): self = Int(exactly: i).map { .int($0) } ?? .float(Double(i))
        case .number(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init(json:)))
        case .object(let o):
            var d = OrderedDict()
            for key in o.keys.sorted() { d.set(.string(key), Value(json: o[key]!)) }
            self = .dict(d)
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var isString: Bool { if case .string = self { return true }; return false }

    /// Python's type name, used in error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable(let c):
            if case .macro = c { return "Macro" }
            return "function"
        case .loop: return "LoopContext"
        }
    }

    /// Python truthiness (`bool(x)`).
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .callable, .loop: return true
        }
    }

    /// The value as a number for arithmetic (bool counts as int, as in Python).
    var number: Number? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        default: return nil
        }
    }

    /// An int (or bool) usable as an index.
    var index: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }
}

/// A numeric operand: Python int or float.
enum Number {
    case int(Int)
    case float(Double)

    var double: Double {
        switch self {
        case .int(let i): return Double(i)
        case .float(let d): return d
        }
    }
}

/// Something a template can call.
indirect enum Callable {
    case macro(Macro)
    case builtin(Builtin)
    /// A method looked up on a value, e.g. `message.content.strip` or `messages[0].items`.
    case method(Value, String)
}

/// The global functions available to chat templates.
enum Builtin: String {
    case range, namespace, dict
    case raiseException = "raise_exception"
    case strftimeNow = "strftime_now"
}

/// A macro closed over the scope it was defined in.
final class Macro {
    let definition: MacroDefinition
    let closure: Scope

    init(definition: MacroDefinition, closure: Scope) {
        self.definition = definition
        self.closure = closure
    }
}

/// Jinja's `namespace()`: a mutable attribute bag that `{% set ns.attr = ... %}` can change from
/// inside loops (the only way to carry state out of a loop body).
final class Namespace {
    var attributes = OrderedDict()
}

/// A hashable form of a dict key (Python hashing: `1`, `1.0` and `True` are the same key).
enum DictKey: Hashable {
    /// Jinja's Undefined is hashable, and all Undefined values are equal.
    case undefined
    case none
    case int(Int)
    case float(Double)
    case string(String)
    case tuple([DictKey])

    init?(_ value: Value) {
        switch value {
        case .undefined: self = .undefined
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .float(let d):
            if d.rounded() == d, let i = Int(exactly: d) { self = .int(i) } else { self = .float(d) }
        case .string(let s): self = .string(s)
        case .tuple(let items):
            var keys: [DictKey] = []
            for item in items {
                guard let k = DictKey(item) else { return nil }
                keys.append(k)
            }
            self = .tuple(keys)
        default: return nil
        }
    }
}

/// A Python dict: insertion-ordered, keyed by hashable values.
struct OrderedDict {
    private(set) var keys: [Value] = []
    private(set) var values: [Value] = []
    private var positions: [DictKey: Int] = [:]

    var count: Int { keys.count }

    subscript(key: DictKey) -> Value? {
        positions[key].map { values[$0] }
    }

    subscript(name: String) -> Value? { self[.string(name)] }

    /// Sets `key` (which must be hashable; unhashable keys are ignored by callers that checked first).
    mutating func set(_ key: Value, _ value: Value) {
        guard let k = DictKey(key) else { return }
        if let p = positions[k] {
            values[p] = value
        } else {
            positions[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    /// `(key, value)` tuples in order, as `dict.items()` yields them.
    var items: [Value] { zip(keys, values).map { .tuple([$0, $1]) } }
}
