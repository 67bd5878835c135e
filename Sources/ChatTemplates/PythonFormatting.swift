/// `str()` and `repr()` of template values, as Python prints them when a template outputs a value.
enum PythonFormatting {
    /// `str(value)`; Undefined prints as the empty string.
    static func str(_ value: Value) -> String {
        switch value {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr(value)
        }
    }

    /// `repr(value)`, used for values nested in lists and dicts.
    static func repr(_ value: Value) -> String {
        switch value {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return float(d)
        case .string(let s): return PythonString.repr(s)
        case .list(let items): return "[" + items.map(repr).joined(separator: ", ") + "]"
        case .tuple(let items):
            return "(" + items.map(repr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .dict(let d):
            return "{" + zip(d.keys, d.values).map { repr($0) + ": " + repr($1) }.joined(separator: ", ") + "}"
        case .namespace(let ns):
            return "<Namespace " + repr(.dict(ns.attributes)) + ">"
        case .callable(let c):
            switch c {
            case .macro(let m): return "<Macro '\(m.definition.name)'>"
            case .builtin(let b): return "<function \(b.rawValue)>"
            case .method(let receiver, let name): return "<built-in method \(name) of \(receiver.typeName) object>"
            }
        case .loop(let ctx): return "<LoopContext \(ctx.index0 + 1)>"
        }
    }

    /// Python's `repr(float)`: the shortest round-tripping digits, in fixed notation when the
    /// decimal exponent is in [-4, 16) and scientific (`1e+16`, `1e-05`) otherwise.
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also shortest-round-trip; re-layout its digits the way Python does.
        var text = "\(d.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var integerPart = text
        var fraction = ""
        if let dot = text.firstIndex(of: ".") {
            integerPart = String(text[..<dot])
            fraction = String(text[text.index(after: dot)...])
        }
        var digits = integerPart + fraction
        var pointPosition = integerPart.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let sign = d < 0 ? "-" : ""
        if pointPosition > -4 && pointPosition <= 16 {
            if pointPosition <= 0 {
                return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
            }
            if pointPosition >= digits.count {
                return sign + digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
            }
            let split = digits.index(digits.startIndex, offsetBy: pointPosition)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let e = pointPosition - 1
        let mantissa = digits.count > 1 ? String(digits.first!) + "." + digits.dropFirst() : digits
        let expText = String(abs(e))
        return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (expText.count < 2 ? "0" + expText : expText)
    }

    /// MarkupSafe's `escape`: `& < > ' "` as HTML entities.
    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&#39;"
            case "\"": out += "&#34;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
