import Foundation

/// Text normalization applied to each non-added-token segment before pre-tokenization
/// (HuggingFace `normalizer`).
///
/// SentencePiece-style Llama tokenizers express their "dummy prefix" and "space becomes ▁" rules
/// here (`Prepend("▁")`, `Replace(" ", "▁")`); the other cases cover the Unicode forms and
/// lowercasing used by other byte-level and SentencePiece tokenizer.json files.
indirect enum Normalizer: Sendable, Equatable {
    case sequence([Normalizer])
    /// Prepends the string when the segment is not empty.
    case prepend(String)
    /// Replaces every literal occurrence of `pattern` with `content`.
    case replace(pattern: String, content: String)
    case nfc, nfd, nfkc, nfkd
    case lowercase
    /// Removes leading and/or trailing whitespace.
    case strip(left: Bool, right: Bool)

    /// Normalizes a UTF-8 segment.
    func normalize(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sequence(let steps):
            var current = bytes
            for step in steps { current = step.normalize(current) }
            return current
        case .prepend(let prefix):
            if bytes.isEmpty { return bytes }
            return Array(prefix.utf8) + bytes
        case .replace(let pattern, let content):
            return ByteSearch.replace(bytes, pattern: Array(pattern.utf8), with: Array(content.utf8))
        case .nfc:
            return Array(Self.string(bytes).precomposedStringWithCanonicalMapping.utf8)
        case .nfd:
            return Array(Self.string(bytes).decomposedStringWithCanonicalMapping.utf8)
        case .nfkc:
            return Array(Self.string(bytes).precomposedStringWithCompatibilityMapping.utf8)
        case .nfkd:
            return Array(Self.string(bytes).decomposedStringWithCompatibilityMapping.utf8)
        case .lowercase:
            return Array(Self.string(bytes).lowercased().utf8)
        case .strip(let left, let right):
            let text = DecodedScalars(bytes)
            var lo = 0
            var hi = text.count
            if left { while lo < hi && text.scalars[lo].properties.isWhitespace { lo += 1 } }
            if right { while hi > lo && text.scalars[hi - 1].properties.isWhitespace { hi -= 1 } }
            return Array(bytes[text.offsets[lo]..<text.offsets[hi]])
        }
    }

    private static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Normalizes a whole string (used for added tokens marked `normalized`).
    func normalize(_ text: String) -> String {
        String(decoding: normalize(Array(text.utf8)), as: UTF8.self)
    }
}
