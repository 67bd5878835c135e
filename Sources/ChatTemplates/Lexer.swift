/// Turns template source into a token stream exactly as Jinja's lexer does in the environment that
/// HuggingFace transformers uses for chat templates (`trim_blocks=True`, `lstrip_blocks=True`,
/// `keep_trailing_newline=False`).
///
/// Whitespace rules reproduced here:
/// - newlines (`\r\n`, `\r`) are normalised to `\n` and one trailing newline of the template is dropped;
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` strip all after it;
/// - `trim_blocks`: the first newline after a block or comment tag (`%}`, `#}`) is removed;
/// - `lstrip_blocks`: spaces and tabs between the start of a line and a block or comment tag are removed
///   (never for `{{`); `{%+` disables this and `+%}` disables `trim_blocks` for one tag;
/// - `{% raw %}...{% endraw %}` content is passed through as text; comments are dropped.
struct Lexer {
    private let src: [Unicode.Scalar]
    private let lineStarts: [Int]
    private let trimBlocks: Bool
    private let lstripBlocks: Bool
    private var pos = 0
    /// Whether the previous match ended with a newline (Jinja's `line_starting`).
    private var lineStarting = true
    private var tokens: [Token] = []

    /// Which delimiter opened a tag: `{{`, `{%` or `{#`.
    private enum TagKind { case variable, block, comment }

    init(source: String, trimBlocks: Bool = true, lstripBlocks: Bool = true) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var afterCR = false
        for s in source.unicodeScalars {
            if s == "\r" {
                scalars.append("\n")
                afterCR = true
                continue
            }
            if !(s == "\n" && afterCR) { scalars.append(s) }
            afterCR = false
        }
        if scalars.last == "\n" { scalars.removeLast() }
        src = scalars
        var starts = [0]
        for (i, s) in scalars.enumerated() where s == "\n" { starts.append(i + 1) }
        lineStarts = starts
        self.trimBlocks = trimBlocks
        self.lstripBlocks = lstripBlocks
    }

    /// The whole token stream, ending with `.eof`.
    static func tokenize(_ source: String) throws(ChatTemplateError) -> [Token] {
        var lexer = Lexer(source: source)
        return try lexer.run()
    }

    func location(_ offset: Int) -> SourceLocation {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    private func at(_ p: Int, _ literal: String) -> Bool {
        var i = p
        for c in literal.unicodeScalars {
            guard i < src.count, src[i] == c else { return false }
            i += 1
        }
        return true
    }

    private func skipWhitespace(from p: Int) -> Int {
        var i = p
        while i < src.count && src[i].isPythonWhitespace { i += 1 }
        return i
    }

    private mutating func run() throws(ChatTemplateError) -> [Token] {
        while pos < src.count {
            guard let (tagStart, kind) = nextTag(from: pos) else {
                emitText(pos, src.count)
                pos = src.count
                break
            }
            var afterOpen = tagStart + 2
            var sign: Unicode.Scalar? = nil
            if afterOpen < src.count, src[afterOpen] == "-" || src[afterOpen] == "+" {
                sign = src[afterOpen]
                afterOpen += 1
            }
            let rawEnd = kind == .block ? rawBeginEnd(afterSign: afterOpen) : nil
            emitStrippedText(pos, tagStart, sign: sign, lstripAllowed: kind != .variable)
            if let rawEnd {
                pos = rawEnd
                lineStarting = src[pos - 1] == "\n"
                try lexRaw(openedAt: tagStart)
                continue
            }
            pos = afterOpen
            lineStarting = false
            switch kind {
            case .comment: try lexComment(openedAt: tagStart)
            case .block, .variable: try lexTag(kind, openedAt: tagStart)
            }
        }
        tokens.append(Token(kind: .eof, location: location(src.count)))
        return tokens
    }

    /// The next `{{`, `{%` or `{#` at or after `p`.
    private func nextTag(from p: Int) -> (Int, TagKind)? {
        var i = p
        while i + 1 < src.count {
            if src[i] == "{" {
                switch src[i + 1] {
                case "{": return (i, .variable)
                case "%": return (i, .block)
                case "#": return (i, .comment)
                default: break
                }
            }
            i += 1
        }
        return nil
    }

    /// If `{%` + sign is followed by `\s*raw\s*(-%}\s*|%})`, the offset after that match.
    private func rawBeginEnd(afterSign p: Int) -> Int? {
        var i = skipWhitespace(from: p)
        guard at(i, "raw") else { return nil }
        i = skipWhitespace(from: i + 3)
        if at(i, "-%}") { return skipWhitespace(from: i + 3) }
        if at(i, "%}") { return i + 2 }
        return nil
    }

    private mutating func emitText(_ start: Int, _ end: Int) {
        guard end > start else { return }
        tokens.append(Token(kind: .text(PythonString.string(src[start..<end])), location: location(start)))
    }

    /// Emits `src[start..<end]` after applying the left-hand whitespace control of the following tag.
    private mutating func emitStrippedText(_ start: Int, _ end: Int, sign: Unicode.Scalar?, lstripAllowed: Bool) {
        var textEnd = end
        if sign == "-" {
            while textEnd > start && src[textEnd - 1].isPythonWhitespace { textEnd -= 1 }
        } else if sign != "+" && lstripBlocks && lstripAllowed {
            var lineStart = textEnd
            while lineStart > start && src[lineStart - 1] != "\n" { lineStart -= 1 }
            if lineStart > start || lineStarting {
                if src[lineStart..<textEnd].allSatisfy({ $0 == " " || $0 == "\t" }) { textEnd = lineStart }
            }
        }
        emitText(start, textEnd)
    }

    private mutating func lexComment(openedAt open: Int) throws(ChatTemplateError) {
        var i = pos
        while i < src.count {
            if at(i, "+#}") { pos = i + 3; break }
            if at(i, "-#}") { pos = skipWhitespace(from: i + 3); break }
            if at(i, "#}") {
                pos = i + 2
                if trimBlocks && pos < src.count && src[pos] == "\n" { pos += 1 }
                break
            }
            i += 1
        }
        if i >= src.count { throw location(open).syntaxError("missing end of comment tag") }
        lineStarting = src[pos - 1] == "\n"
    }

    private mutating func lexRaw(openedAt open: Int) throws(ChatTemplateError) {
        var i = pos
        while i < src.count {
            if at(i, "{%") {
                var j = i + 2
                var sign: Unicode.Scalar? = nil
                if j < src.count, src[j] == "-" || src[j] == "+" { sign = src[j]; j += 1 }
                j = skipWhitespace(from: j)
                if at(j, "endraw") {
                    j = skipWhitespace(from: j + 6)
                    var end: Int? = nil
                    if at(j, "+%}") { end = j + 3 }
                    else if at(j, "-%}") { end = skipWhitespace(from: j + 3) }
                    else if at(j, "%}") {
                        end = j + 2
                        if trimBlocks && end! < src.count && src[end!] == "\n" { end! += 1 }
                    }
                    if let end {
                        emitStrippedText(pos, i, sign: sign, lstripAllowed: true)
                        pos = end
                        lineStarting = src[pos - 1] == "\n"
                        return
                    }
                }
            }
            i += 1
        }
        throw location(open).syntaxError("missing end of raw directive")
    }

    private mutating func lexTag(_ kind: TagKind, openedAt open: Int) throws(ChatTemplateError) {
        tokens.append(Token(kind: kind == .block ? .blockBegin : .variableBegin, location: location(open)))
        var balance: [(Unicode.Scalar, Int)] = []
        while true {
            guard pos < src.count else {
                let what = kind == .block ? "end of statement block" : "end of print statement"
                if let (open, at) = balance.last {
                    throw location(at).syntaxError("unexpected end of template, '\(open)' was never closed")
                }
                throw location(open).syntaxError("unexpected end of template, expected '\(what)'")
            }
            if balance.isEmpty && closeTag(kind) { return }
            let c = src[pos]
            if c.isPythonWhitespace {
                pos += 1
                continue
            }
            let start = pos
            if c.properties.numericType == .decimal && c.isASCII {
                tokens.append(Token(kind: try lexNumber(), location: location(start)))
            } else if c == "'" || c == "\"" {
                tokens.append(Token(kind: .string(try lexString()), location: location(start)))
            } else if c == "_" || c.properties.isXIDStart {
                var i = pos + 1
                while i < src.count && (src[i] == "_" || src[i].properties.isXIDContinue) { i += 1 }
                tokens.append(Token(kind: .name(PythonString.string(src[pos..<i])), location: location(start)))
                pos = i
            } else if let op = lexOperator() {
                switch op {
                case "(", "[", "{":
                    balance.append((op.unicodeScalars.first!, start))
                case ")", "]", "}":
                    guard let (open, _) = balance.popLast() else {
                        throw location(start).syntaxError("unexpected '\(op)'")
                    }
                    let expected: Unicode.Scalar = open == "(" ? ")" : open == "[" ? "]" : "}"
                    if String(expected) != op {
                        throw location(start).syntaxError("unexpected '\(op)', expected '\(expected)'")
                    }
                default:
                    break
                }
                tokens.append(Token(kind: .op(op), location: location(start)))
            } else {
                throw location(start).syntaxError("unexpected char '\(String(c))'")
            }
        }
    }

    /// Consumes the end delimiter of a tag (with its whitespace control) if it is at `pos`.
    private mutating func closeTag(_ kind: TagKind) -> Bool {
        let start = pos
        if kind == .block {
            if at(pos, "+%}") {
                pos += 3
            } else if at(pos, "-%}") {
                pos = skipWhitespace(from: pos + 3)
            } else if at(pos, "%}") {
                pos += 2
                if trimBlocks && pos < src.count && src[pos] == "\n" { pos += 1 }
            } else {
                return false
            }
            tokens.append(Token(kind: .blockEnd, location: location(start)))
        } else {
            if at(pos, "-}}") {
                pos = skipWhitespace(from: pos + 3)
            } else if at(pos, "}}") {
                pos += 2
            } else {
                return false
            }
            tokens.append(Token(kind: .variableEnd, location: location(start)))
        }
        lineStarting = src[pos - 1] == "\n"
        return true
    }

    private static let twoCharOperators = ["//", "**", "==", "!=", ">=", "<="]
    private static let oneCharOperators: Set<Unicode.Scalar> = ["+", "-", "/", "*", "%", "~", "[", "]", "(", ")",
                                                                 "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"]

    private mutating func lexOperator() -> String? {
        for op in Self.twoCharOperators where at(pos, op) {
            pos += 2
            return op
        }
        if Self.oneCharOperators.contains(src[pos]) {
            pos += 1
            return String(src[pos - 1])
        }
        return nil
    }

    private func isDigit(_ i: Int) -> Bool { i < src.count && src[i].isASCII && src[i].properties.numericType == .decimal }

    /// Digits with single underscores between them (`\d+(_\d+)*`), from `i`; returns the end offset.
    private func digitRun(from i: Int) -> Int {
        var j = i
        while isDigit(j) || (j < src.count && src[j] == "_" && j > i && isDigit(j + 1)) { j += 1 }
        return j
    }

    private mutating func lexNumber() throws(ChatTemplateError) -> Token.Kind {
        let start = pos
        if src[pos] == "0", pos + 1 < src.count {
            let radixChar = src[pos + 1].properties.lowercaseMapping
            let radix = radixChar == "x" ? 16 : radixChar == "o" ? 8 : radixChar == "b" ? 2 : 0
            if radix != 0 {
                var j = pos + 2
                var digits = ""
                while j < src.count, src[j] == "_" || Int(String(src[j]), radix: radix) != nil {
                    if src[j] != "_" { digits.unicodeScalars.append(src[j]) }
                    j += 1
                }
                if !digits.isEmpty {
                    guard let v = Int(digits, radix: radix) else {
                        throw location(start).syntaxError("integer literal too large")
                    }
                    pos = j
                    return .integer(v)
                }
            }
        }
        var end = digitRun(from: pos)
        var isFloat = false
        let precededByDot = start > 0 && src[start - 1] == "."
        if !precededByDot {
            if end < src.count, src[end] == ".", isDigit(end + 1) {
                end = digitRun(from: end + 1)
                isFloat = true
            }
            if end < src.count, src[end] == "e" || src[end] == "E" {
                var j = end + 1
                if j < src.count, src[j] == "+" || src[j] == "-" { j += 1 }
                if isDigit(j) {
                    end = digitRun(from: j)
                    isFloat = true
                }
            }
        }
        let text = PythonString.string(src[start..<end].filter { $0 != "_" })
        pos = end
        if isFloat {
            return .float(Double(text) ?? .infinity)
        }
        guard let v = Int(text) else { throw location(start).syntaxError("integer literal too large") }
        return .integer(v)
    }

    private mutating func lexString() throws(ChatTemplateError) -> String {
        let start = pos
        let quote = src[pos]
        var i = pos + 1
        while i < src.count && src[i] != quote {
            i += src[i] == "\\" ? 2 : 1
        }
        guard i < src.count else { throw location(start).syntaxError("unterminated string literal") }
        pos = i + 1
        return try StringEscapes.decode(src[(start + 1)..<i], at: location(start))
    }
}
