/// The `tojson` filter as transformers defines it for chat templates:
/// `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`.
///
/// Unlike Jinja's built-in `tojson` it does not sort keys or HTML-escape, and it follows Python's
/// layout: `", "` / `": "` separators, `","` plus newlines when indenting, floats as `repr`,
/// `NaN`/`Infinity`, and only `"`, `\` and control characters escaped (non-ASCII kept).
struct JSONEncoding {
    var indent: String?
    var itemSeparator: String
    var keySeparator: String
    var sortKeys = false
    var ensureASCII = false

    init(indent: String?, separators: (String, String)?, sortKeys: Bool, ensureASCII: Bool) {
        self.indent = indent
        self.itemSeparator = separators?.0 ?? (indent == nil ? ", " : ",")
        self.keySeparator = separators?.1 ?? ": "
        self.sortKeys = sortKeys
        self.ensureASCII = ensureASCII
    }

    func encode(_ value: Value) throws(OperatorError) -> String {
        var out = ""
        try write(value, level: 0, into: &out)
        return out
    }

    private func newline(_ level: Int, _ out: inout String) {
        guard let indent else { return }
        out += "\n" + String(repeating: indent, count: level)
    }

    private func write(_ value: Value, level: Int, into out: inout String) throws(OperatorError) {
        if level > 512 { throw .type("maximum recursion depth exceeded while encoding a JSON object") }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" }
            else { out += PythonFormatting.float(d) }
        case .string(let s): writeString(s, into: &out)
        case .list(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1, &out)
                try write(item, level: level + 1, into: &out)
            }
            newline(level, &out)
            out += "]"
        case .dict(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs: [(String, Value)] = []
            for (k, v) in zip(d.keys, d.values) {
                switch k {
                case .string(let s): pairs.append((s, v))
                case .none: pairs.append(("null", v))
                case .bool(let b): pairs.append((b ? "true" : "false", v))
                case .int(let i): pairs.append((String(i), v))
                case .float(let f): pairs.append((PythonFormatting.float(f), v))
                default: throw .type("keys must be str, int, float, bool or None, not \(k.typeName)")
                }
            }
            if sortKeys { pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1, &out)
                writeString(k, into: &out)
                out += keySeparator
                try write(v, level: level + 1, into: &out)
            }
            newline(level, &out)
            out += "}"
        default:
            throw .type("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private func writeString(_ s: String, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += "\\u" + PythonString.hex(c.value, width: 4)
                } else if ensureASCII && c.value > 0x7E {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + PythonString.hex(0xD800 + (v >> 10), width: 4)
                        out += "\\u" + PythonString.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + PythonString.hex(c.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }
}
