/// The word-splitting regexes of byte-level BPE tokenizers, implemented as hand-written scanners.
///
/// HuggingFace applies these with Oniguruma; a regex engine in the encode hot path is slow, and the
/// patterns are fixed and few, so each is implemented directly over classified Unicode scalars with
/// the same leftmost-alternative semantics (including the `\s+(?!\S)` backtracking rule).
enum SplitPattern: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3 (`maxDigits` 3) and Qwen 2 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3(maxDigits: Int)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a regex string found in a tokenizer.json, if it is one of the known ones.
    static func recognize(regex: String) -> SplitPattern? {
        switch regex {
        case gpt2Regex: return .gpt2
        case llama3Regex: return .llama3(maxDigits: 3)
        case qwen2Regex: return .llama3(maxDigits: 1)
        default: return nil
        }
    }

    /// Splits a piece into consecutive byte ranges covering all of it (the patterns match every
    /// character, so there are no gaps).
    func split(_ text: DecodedScalars) -> [Range<Int>] {
        let n = text.count
        if n == 0 { return [] }
        let scalars = text.scalars
        var classes = [ScalarClass]()
        classes.reserveCapacity(n)
        for s in scalars { classes.append(ScalarClass.of(s)) }
        var ranges: [Range<Int>] = []
        var i = 0
        while i < n {
            let end: Int
            switch self {
            case .gpt2: end = Self.gpt2Match(at: i, scalars, classes)
            case .llama3(let maxDigits): end = Self.llama3Match(at: i, scalars, classes, maxDigits: maxDigits)
            }
            ranges.append(text.offsets[i]..<text.offsets[end])
            i = end
        }
        return ranges
    }

    // MARK: - Scanners

    /// Length of an English contraction (`'s 't 're 've 'm 'll 'd`) starting at `i`, or 0.
    @inline(__always)
    private static func contraction(at i: Int, _ s: [Unicode.Scalar], caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < s.count else { return 0 }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            if caseInsensitive, c.value >= 65, c.value <= 90 { return Unicode.Scalar(c.value + 32)! }
            return c
        }
        let a = lower(s[i + 1])
        switch a {
        case "s", "t", "m", "d": return 2
        case "r", "v", "l":
            guard i + 2 < s.count else { return 0 }
            let b = lower(s[i + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
            return 0
        default: return 0
        }
    }

    @inline(__always)
    private static func run(of cls: ScalarClass, from j: Int, _ c: [ScalarClass]) -> Int {
        var j = j
        while j < c.count && c[j] == cls { j += 1 }
        return j
    }

    /// `\s+(?!\S)|\s+` starting at whitespace `i`: the whole run if it ends the text, otherwise the
    /// run minus its last character (which then prefixes the next word), but at least one character.
    @inline(__always)
    private static func whitespaceMatch(at i: Int, _ c: [ScalarClass]) -> Int {
        let k = run(of: .whitespace, from: i, c)
        if k == c.count || k - i == 1 { return k }
        return k - 1
    }

    private static func gpt2Match(at i: Int, _ s: [Unicode.Scalar], _ c: [ScalarClass]) -> Int {
        let contractionLength = contraction(at: i, s, caseInsensitive: false)
        if contractionLength > 0 { return i + contractionLength }
        var cls = c[i]
        var j = i
        if s[i] == " ", i + 1 < s.count, c[i + 1] != .whitespace {
            cls = c[i + 1]
            j = i + 1
        }
        switch cls {
        case .letter, .number, .other:
            return run(of: cls, from: j, c)
        case .whitespace:
            return whitespaceMatch(at: i, c)
        }
    }

    private static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    private static func llama3Match(at i: Int, _ s: [Unicode.Scalar], _ c: [ScalarClass], maxDigits: Int) -> Int {
        let n = s.count
        let contractionLength = contraction(at: i, s, caseInsensitive: true)
        if contractionLength > 0 { return i + contractionLength }
        let cls = c[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if cls == .letter { return run(of: .letter, from: i, c) }
        if cls != .number, !isNewline(s[i]), i + 1 < n, c[i + 1] == .letter {
            return run(of: .letter, from: i + 1, c)
        }
        // \p{N}{1,maxDigits}
        if cls == .number {
            var j = i
            while j < n && j - i < maxDigits && c[j] == .number { j += 1 }
            return j
        }
        // ' '?[^\s\p{L}\p{N}]+[\r\n]*
        if cls == .other || (s[i] == " " && i + 1 < n && c[i + 1] == .other) {
            var j = run(of: .other, from: cls == .other ? i : i + 1, c)
            while j < n && isNewline(s[j]) { j += 1 }
            return j
        }
        // \s*[\r\n]+ : the whitespace run up to and including its last newline.
        let k = run(of: .whitespace, from: i, c)
        var last = k - 1
        while last >= i && !isNewline(s[last]) { last -= 1 }
        if last >= i { return last + 1 }
        // \s+(?!\S)|\s+
        return whitespaceMatch(at: i, c)
    }
}
