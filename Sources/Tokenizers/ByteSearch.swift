/// Exact byte-sequence search and replace on UTF-8 buffers.
///
/// `Replace` normalizers/decoders must compare code points literally: Swift's `String` APIs compare
/// graphemes (so `"▁"` would not be found when a combining mark follows it) and Foundation's
/// default search applies canonical equivalence. Searching UTF-8 bytes is exact because UTF-8 is
/// self-synchronizing.
enum ByteSearch {
    /// Replaces every non-overlapping occurrence of `pattern` (left to right) with `replacement`.
    static func replace<C: Collection>(_ input: C, pattern: [UInt8], with replacement: [UInt8]) -> [UInt8]
        where C.Element == UInt8 {
        let bytes = Array(input)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let first = pattern[0]
        let last = bytes.count - pattern.count
        while i < bytes.count {
            if i <= last && bytes[i] == first && matches(bytes, at: i, pattern) {
                out.append(contentsOf: replacement)
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// Whether `pattern` occurs in `bytes` at `offset` (bounds are checked).
    @inline(__always)
    static func matches<C: RandomAccessCollection>(_ bytes: C, at offset: Int, _ pattern: [UInt8]) -> Bool
        where C.Element == UInt8, C.Index == Int {
        if offset + pattern.count > bytes.endIndex { return false }
        var k = 0
        while k < pattern.count {
            if bytes[offset + k] != pattern[k] { return false }
            k += 1
        }
        return true
    }

    /// Replaces occurrences in a string, comparing code points literally.
    static func replace(_ text: String, pattern: String, with replacement: String) -> String {
        guard text.utf8.count >= pattern.utf8.count, !pattern.isEmpty else { return text }
        return String(decoding: replace(text.utf8, pattern: Array(pattern.utf8), with: Array(replacement.utf8)),
                      as: UTF8.self)
    }
}
