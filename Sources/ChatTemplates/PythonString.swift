/// Python `str` semantics for the string operations templates use.
///
/// Python strings are sequences of code points, while Swift's `String.count` counts grapheme
/// clusters; lengths, indexing, slicing and the whitespace set must follow Python for templates to
/// render exactly as HuggingFace transformers renders them, so these helpers work on Unicode scalars.
enum PythonString {
    /// The code points of `s`.
    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    /// A string made of `scalars`.
    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// `len(s)`.
    static func length(_ s: String) -> Int { s.unicodeScalars.count }

    /// `s.strip(chars)` / `lstrip` / `rstrip`; `chars == nil` strips Python whitespace.
    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? c.isPythonWhitespace }
        let a = scalars(s)
        var lo = 0, hi = a.count
        if leading { while lo < hi && strippable(a[lo]) { lo += 1 } }
        if trailing { while hi > lo && strippable(a[hi - 1]) { hi -= 1 } }
        return string(a[lo..<hi])
    }

    /// Index of the first occurrence of `needle` in `hay` at or after `from`.
    static func find(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar], from: Int = 0) -> Int? {
        if needle.isEmpty { return from <= hay.count ? from : nil }
        guard hay.count >= needle.count else { return nil }
        var i = max(0, from)
        while i + needle.count <= hay.count {
            if hay[i] == needle[0] {
                var j = 1
                while j < needle.count && hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Index of the last occurrence of `needle` in `hay`.
    static func rfind(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Int? {
        if needle.isEmpty { return hay.count }
        guard hay.count >= needle.count else { return nil }
        var i = hay.count - needle.count
        while i >= 0 {
            var j = 0
            while j < needle.count && hay[i + j] == needle[j] { j += 1 }
            if j == needle.count { return i }
            i -= 1
        }
        return nil
    }

    /// `s.split(sep, maxsplit)`; `sep == nil` splits on runs of whitespace and drops empty parts.
    static func split(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        let a = scalars(s)
        var parts: [String] = []
        if let separator {
            let sep = scalars(separator)
            var start = 0
            var splits = 0
            while maxSplit < 0 || splits < maxSplit, let at = find(a, sep, from: start) {
                parts.append(string(a[start..<at]))
                start = at + sep.count
                splits += 1
            }
            parts.append(string(a[start...]))
            return parts
        }
        var i = 0
        var splits = 0
        while i < a.count {
            while i < a.count && a[i].isPythonWhitespace { i += 1 }
            if i == a.count { break }
            if maxSplit >= 0 && splits == maxSplit {
                var end = a.count
                while end > i && a[end - 1].isPythonWhitespace { end -= 1 }
                parts.append(string(a[i..<end]))
                break
            }
            let start = i
            while i < a.count && !a[i].isPythonWhitespace { i += 1 }
            parts.append(string(a[start..<i]))
            splits += 1
        }
        return parts
    }

    /// `s.rsplit(sep, maxsplit)`.
    static func rsplit(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        if maxSplit < 0 { return split(s, separator: separator, maxSplit: -1) }
        let a = scalars(s)
        var parts: [String] = []
        if let separator {
            let sep = scalars(separator)
            var end = a.count
            var splits = 0
            while splits < maxSplit, let at = rfind(Array(a[0..<end]), sep) {
                parts.append(string(a[(at + sep.count)..<end]))
                end = at
                splits += 1
            }
            parts.append(string(a[0..<end]))
            return parts.reversed()
        }
        var i = a.count
        var splits = 0
        while i > 0 {
            while i > 0 && a[i - 1].isPythonWhitespace { i -= 1 }
            if i == 0 { break }
            if splits == maxSplit {
                var start = 0
                while start < i && a[start].isPythonWhitespace { start += 1 }
                parts.append(string(a[start..<i]))
                break
            }
            let end = i
            while i > 0 && !a[i - 1].isPythonWhitespace { i -= 1 }
            parts.append(string(a[i..<end]))
            splits += 1
        }
        return parts.reversed()
    }

    /// `s.replace(old, new, count)`, including Python's behaviour for an empty `old`.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let a = scalars(s), o = scalars(old), n = scalars(new)
        var out: [Unicode.Scalar] = []
        var done = 0
        if o.isEmpty {
            for c in a {
                if count < 0 || done < count { out += n; done += 1 }
                out.append(c)
            }
            if count < 0 || done < count { out += n }
            return string(out)
        }
        var i = 0
        while i < a.count {
            if (count < 0 || done < count), i + o.count <= a.count, Array(a[i..<(i + o.count)]) == o {
                out += n
                i += o.count
                done += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        return string(out)
    }

    /// Non-overlapping occurrences of `needle` (`s.count(sub)`).
    static func count(_ s: String, _ needle: String) -> Int {
        let a = scalars(s), n = scalars(needle)
        if n.isEmpty { return a.count + 1 }
        var i = 0, c = 0
        while let at = find(a, n, from: i) { c += 1; i = at + n.count }
        return c
    }

    /// `s.title()`: a cased character is lowercased when it follows a cased character, titlecased otherwise.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            out += previousCased ? c.properties.lowercaseMapping : c.properties.titlecaseMapping
            previousCased = c.properties.isCased
        }
        return out
    }

    /// `s.capitalize()`: first character titlecased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, c) in s.unicodeScalars.enumerated() {
            out += i == 0 ? c.properties.titlecaseMapping : c.properties.lowercaseMapping
        }
        return out
    }

    /// Jinja's `title` filter: words start after `-`, whitespace, `(`, `{`, `[` or `<`.
    static func jinjaTitle(_ s: String) -> String {
        func isBoundary(_ c: Unicode.Scalar) -> Bool { c.isPythonWhitespace || "-({[<".unicodeScalars.contains(c) }
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            if isBoundary(c) {
                out.unicodeScalars.append(c)
                atStart = true
            } else if atStart {
                out += String(c).uppercased()
                atStart = false
            } else {
                out += String(c).lowercased()
            }
        }
        return out
    }

    /// `s.splitlines(keepends)` with Python's set of line boundaries.
    static func splitLines(_ s: String, keepEnds: Bool = false) -> [String] {
        let a = scalars(s)
        var lines: [String] = []
        var start = 0, i = 0
        while i < a.count {
            let c = a[i]
            if c.isPythonLineBreak {
                var end = i + 1
                if c == "\r" && end < a.count && a[end] == "\n" { end += 1 }
                lines.append(string(a[start..<(keepEnds ? end : i)]))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < a.count { lines.append(string(a[start...])) }
        return lines
    }

    /// `repr(s)` as Python prints a string inside a list or dict.
    static func repr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\": out += "\\" + String(c)
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.isPythonPrintable {
                    out.unicodeScalars.append(c)
                } else if c.value < 0x100 {
                    out += "\\x" + hex(c.value, width: 2)
                } else if c.value < 0x10000 {
                    out += "\\u" + hex(c.value, width: 4)
                } else {
                    out += "\\U" + hex(c.value, width: 8)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// Lower-case hexadecimal, zero-padded to `width`.
    static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Unicode.Scalar {
    /// Python's `str.isspace()` set, which is also what `\s` matches in Jinja's lexer rules.
    var isPythonWhitespace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Line boundaries of Python's `str.splitlines()`.
    var isPythonLineBreak: Bool {
        switch value {
        case 0x0A...0x0D, 0x1C...0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// Python's `str.isprintable()` for one character: everything except categories C* and Z*, but space.
    var isPythonPrintable: Bool {
        if self == " " { return true }
        switch properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return false
        default:
            return true
        }
    }
}
