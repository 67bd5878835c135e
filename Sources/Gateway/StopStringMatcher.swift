/// Finds the client's stop strings in streamed text. Text arrives in arbitrary pieces (a stop string can span
/// several tokens), so the matcher holds back any tail that could still become the start of a stop string and
/// releases it once it cannot. The stop string itself is never emitted. Matching is on Unicode scalars, so a
/// piece boundary inside a grapheme cluster cannot hide a match.
public struct StopStringMatcher: Sendable {
    private let stops: [[Unicode.Scalar]]
    private var pending: [Unicode.Scalar] = []
    public private(set) var stopped = false

    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) }
    }

    public var isEmpty: Bool { stops.isEmpty }

    /// Adds `text`; returns what can be emitted now. After a match, returns the text before it and ignores the rest.
    public mutating func feed(_ text: String) -> String {
        guard !stopped else { return "" }
        guard !stops.isEmpty else { return text }
        pending += text.unicodeScalars
        // The earliest stop string occurrence wins.
        var earliest: Int?
        for stop in stops {
            if let at = firstIndex(of: stop, in: pending), at < (earliest ?? .max) { earliest = at }
        }
        if let earliest {
            stopped = true
            let out = String(String.UnicodeScalarView(pending[..<earliest]))
            pending = []
            return out
        }
        let keep = longestSuffixThatStartsAStop()
        let out = String(String.UnicodeScalarView(pending[..<(pending.count - keep)]))
        pending.removeFirst(pending.count - keep)
        return out
    }

    /// At the end of generation: whatever was held back (it did not turn into a stop string).
    public mutating func flush() -> String {
        defer { pending = [] }
        return stopped ? "" : String(String.UnicodeScalarView(pending))
    }

    private func firstIndex(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of some stop string.
    private func longestSuffixThatStartsAStop() -> Int {
        var best = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: best, by: -1)
            where pending[(pending.count - length)...].elementsEqual(stop[..<length]) {
                best = length
                break
            }
        }
        return best
    }
}
