/// Decodes backslash escapes in template string literals the way Jinja does (Python's
/// `unicode-escape` codec): `\n \t \r \\ \' \" \a \b \f \v`, octal `\ooo`, `\xhh`, `\uhhhh`,
/// `\Uhhhhhhhh`, backslash-newline as a line continuation; unknown escapes keep their backslash.
enum StringEscapes {
    static func decode(_ body: ArraySlice<Unicode.Scalar>, at location: SourceLocation) throws(ChatTemplateError) -> String {
        var out = String.UnicodeScalarView()
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            guard c == "\\", i + 1 < body.endIndex else {
                out.append(c)
                i += 1
                continue
            }
            let e = body[i + 1]
            i += 2
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = e.value - 0x30
                var n = 1
                while n < 3, i < body.endIndex, ("0"..."7").contains(body[i]) {
                    value = value * 8 + body[i].value - 0x30
                    i += 1
                    n += 1
                }
                out.append(Unicode.Scalar(value)!)
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard i + width <= body.endIndex,
                      let v = UInt32(PythonString.string(body[i..<(i + width)]), radix: 16),
                      let scalar = Unicode.Scalar(v) else {
                    throw location.syntaxError("invalid \\\(e) escape in string literal")
                }
                out.append(scalar)
                i += width
            default:
                out.append("\\")
                out.append(e)
            }
        }
        return String(out)
    }
}
