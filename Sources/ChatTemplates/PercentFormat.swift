import Foundation

/// Python's printf-style `str % args` (and Jinja's `format` filter): `%s %r %a %d %i %u %f %F %e %E
/// %g %G %x %X %o %c %%` with flags `-+ 0#`, width, precision and `%(name)s` mapping keys.
enum PercentFormat {
    static func format(_ template: String, _ args: Value) throws(OperatorError) -> String {
        var positional: [Value]
        var mapping: OrderedDict? = nil
        var singleArgument = false
        switch args {
        case .tuple(let items):
            positional = items
        case .dict(let d):
            positional = [args]
            mapping = d
            singleArgument = true
        default:
            positional = [args]
            singleArgument = true
        }
        var next = 0
        var usedMapping = false
        var out = ""
        let chars = Array(template.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "%" else {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < chars.count else { throw .type("incomplete format") }
            var value: Value? = nil
            if chars[i] == "(" {
                guard let close = chars[i...].firstIndex(of: ")") else { throw .type("incomplete format key") }
                let key = PythonString.string(chars[(i + 1)..<close])
                guard let mapping else { throw .type("format requires a mapping") }
                guard let v = mapping[key] else { throw .type("KeyError: \(PythonString.repr(key))") }
                value = v
                usedMapping = true
                i = close + 1
            }
            var flags = Set<Unicode.Scalar>()
            while i < chars.count, "-+ 0#".unicodeScalars.contains(chars[i]) {
                flags.insert(chars[i])
                i += 1
            }
            var width = 0
            while i < chars.count, let d = chars[i].properties.numericType == .decimal && chars[i].isASCII ? Int(String(chars[i])) : nil {
                width = width * 10 + d
                i += 1
            }
            var precision: Int? = nil
            if i < chars.count, chars[i] == "." {
                i += 1
                var p = 0
                while i < chars.count, let d = chars[i].properties.numericType == .decimal && chars[i].isASCII ? Int(String(chars[i])) : nil {
                    p = p * 10 + d
                    i += 1
                }
                precision = p
            }
            while i < chars.count, "hlL".unicodeScalars.contains(chars[i]) { i += 1 }
            guard i < chars.count else { throw .type("incomplete format") }
            let conversion = chars[i]
            i += 1
            if conversion == "%" {
                out += "%"
                continue
            }
            if value == nil {
                guard next < positional.count else { throw .type("not enough arguments for format string") }
                value = positional[next]
                next += 1
            }
            out += try convert(value!, conversion, flags: flags, width: width, precision: precision)
        }
        if !usedMapping && next < positional.count {
            // Python ignores an unused single argument that supports item access (but not str/tuple).
            var tolerated = false
            if singleArgument {
                switch args {
                case .dict, .list, .undefined: tolerated = true
                default: break
                }
            }
            if !tolerated { throw .type("not all arguments converted during string formatting") }
        }
        return out
    }

    private static func pad(_ body: String, sign: String, flags: Set<Unicode.Scalar>, width: Int, numeric: Bool) -> String {
        let length = PythonString.length(body) + sign.count
        guard length < width else { return sign + body }
        let fill = width - length
        if flags.contains("-") { return sign + body + String(repeating: " ", count: fill) }
        if numeric && flags.contains("0") { return sign + String(repeating: "0", count: fill) + body }
        return String(repeating: " ", count: fill) + sign + body
    }

    private static func convert(_ value: Value, _ conversion: Unicode.Scalar, flags: Set<Unicode.Scalar>,
                                width: Int, precision: Int?) throws(OperatorError) -> String {
        switch conversion {
        case "s", "r", "a":
            var text = conversion == "s" ? PythonFormatting.str(value) : PythonFormatting.repr(value)
            if let precision { text = PythonString.string(PythonString.scalars(text).prefix(precision)) }
            return pad(text, sign: "", flags: flags, width: width, numeric: false)
        case "c":
            var text = ""
            switch value {
            case .int(let i): guard let s = Unicode.Scalar(UInt32(clamping: max(0, i))) else { throw .type("%c arg not in range") }
                text = String(s)
            case .string(let s) where PythonString.length(s) == 1: text = s
            default: throw .type("%c requires int or char")
            }
            return pad(text, sign: "", flags: flags, width: width, numeric: false)
        case "d", "i", "u", "x", "X", "o":
            let integer: Int
            switch value.number {
            case .int(let i)?: integer = i
            case .float(let d)?:
                guard "diu".unicodeScalars.contains(conversion) else {
                    throw .type("%\(conversion) format: an integer is required, not float")
                }
                guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else { throw .type("cannot convert float to integer") }
                integer = i
            case nil:
                if case .undefined(let hint) = value { throw .undefined(hint) }
                throw .type("%\(conversion) format: a real number is required, not \(value.typeName)")
            }
            let radix = conversion == "o" ? 8 : (conversion == "x" || conversion == "X") ? 16 : 10
            var digits = String(integer.magnitude, radix: radix, uppercase: conversion == "X")
            if let precision, digits.count < precision { digits = String(repeating: "0", count: precision - digits.count) + digits }
            if flags.contains("#") && radix != 10 { digits = (radix == 8 ? "0o" : conversion == "X" ? "0X" : "0x") + digits }
            let sign = integer < 0 ? "-" : flags.contains("+") ? "+" : flags.contains(" ") ? " " : ""
            return pad(digits, sign: sign, flags: flags, width: width, numeric: true)
        case "f", "F", "e", "E", "g", "G":
            guard let number = value.number else {
                if case .undefined(let hint) = value { throw .undefined(hint) }
                throw .type("must be real number, not \(value.typeName)")
            }
            let d = number.double
            var spec = "%"
            if flags.contains("#") { spec += "#" }
            spec += ".\(precision ?? 6)" + String(conversion)
            var body = d.isNaN ? "nan" : d.isInfinite ? "inf" : String(format: spec, d.magnitude)
            if conversion == "F" || conversion == "E" || conversion == "G" { body = body.uppercased() }
            let sign = d.sign == .minus && !d.isNaN ? "-" : flags.contains("+") ? "+" : flags.contains(" ") ? " " : ""
            return pad(body, sign: sign, flags: flags, width: width, numeric: d.isFinite)
        default:
            throw .type("unsupported format character '\(conversion)'")
        }
    }
}
