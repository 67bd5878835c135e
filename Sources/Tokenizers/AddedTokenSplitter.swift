/// Finds added tokens in text and cuts the text around them (HF `AddedVocabulary::find_matches`).
///
/// Added tokens must be recognised before normalization and BPE so that `<|im_start|>` is one id.
/// Matching is leftmost-longest over UTF-8 bytes (HF uses Aho-Corasick with `LeftmostLongest`),
/// then `single_word`, `lstrip` and `rstrip` are honoured as HF does.
struct AddedTokenSplitter: Sendable {
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Entry: Sendable {
        var pattern: [UInt8]
        var token: AddedToken
    }

    private let entries: [Entry]
    /// Entry indices by first byte, longest pattern first.
    private let byFirstByte: [[Int]]

    var isEmpty: Bool { entries.isEmpty }

    /// - Parameter patterns: each token with the text to match (its content, normalized if needed).
    init(_ patterns: [(pattern: String, token: AddedToken)]) {
        var entries: [Entry] = []
        for p in patterns where !p.pattern.isEmpty {
            entries.append(Entry(pattern: Array(p.pattern.utf8), token: p.token))
        }
        var table = [[Int]](repeating: [], count: 256)
        for (i, e) in entries.enumerated() { table[Int(e.pattern[0])].append(i) }
        for b in 0..<256 {
            table[b].sort { a, c in
                entries[a].pattern.count != entries[c].pattern.count
                    ? entries[a].pattern.count > entries[c].pattern.count : a < c
            }
        }
        self.entries = entries
        self.byFirstByte = table
    }

    /// Splits `bytes` into text ranges and added-token ids, in order. Empty text ranges are omitted.
    func split(_ bytes: [UInt8]) -> [Segment] {
        if entries.isEmpty || bytes.isEmpty { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var segments: [Segment] = []
        var startOffset = 0
        var searchFrom = 0
        while let (matchStart, entry) = findMatch(in: bytes, from: searchFrom) {
            let token = entries[entry].token
            var start = matchStart
            var stop = matchStart + entries[entry].pattern.count
            searchFrom = stop
            if token.singleWord {
                let startOK = start == 0 || !Self.isWordScalar(Self.scalar(before: start, in: bytes))
                let stopOK = stop == bytes.count || !Self.isWordScalar(Self.scalar(at: stop, in: bytes))
                if !startOK || !stopOK { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > 0 {
                    let (s, width) = Self.scalarAndWidth(before: newStart, in: bytes)
                    if !s.properties.isWhitespace { break }
                    newStart -= width
                }
                start = max(newStart, startOffset)
            }
            if token.rstrip {
                while stop < bytes.count {
                    let s = Self.scalar(at: stop, in: bytes)
                    if !s.properties.isWhitespace { break }
                    stop += UTF8.width(s)
                }
            }
            start = max(start, startOffset)
            if startOffset < start { segments.append(.text(startOffset..<start)) }
            segments.append(.token(token.id))
            startOffset = stop
            searchFrom = max(searchFrom, stop)
        }
        if startOffset < bytes.count { segments.append(.text(startOffset..<bytes.count)) }
        return segments
    }

    /// Leftmost match at or after `from`, longest among those starting there.
    private func findMatch(in bytes: [UInt8], from: Int) -> (Int, Int)? {
        var i = from
        while i < bytes.count {
            let candidates = byFirstByte[Int(bytes[i])]
            if !candidates.isEmpty {
                for c in candidates where ByteSearch.matches(bytes, at: i, entries[c].pattern) {
                    return (i, c)
                }
            }
            i += 1
        }
        return nil
    }

    // MARK: - Scalar helpers over UTF-8

    /// Rust regex `\w` (HF checks `^\w` / `\w$` around `single_word` tokens): Alphabetic,
    /// marks, decimal digits, connector punctuation (`_`), joiners.
    private static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    private static func scalar(at offset: Int, in bytes: [UInt8]) -> Unicode.Scalar {
        var it = bytes[offset...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let s) = decoder.decode(&it) { return s }
        return "\u{FFFD}"
    }

    private static func scalarAndWidth(before offset: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int) {
        var start = offset - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return (scalar(at: start, in: bytes), offset - start)
    }

    private static func scalar(before offset: Int, in bytes: [UInt8]) -> Unicode.Scalar {
        scalarAndWidth(before: offset, in: bytes).0
    }
}
