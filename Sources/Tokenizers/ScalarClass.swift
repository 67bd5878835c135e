/// The four character classes the GPT-2 / Llama-3 pre-tokenizer patterns distinguish.
///
/// The patterns only ask "letter (`\p{L}`)? number (`\p{N}`)? whitespace (`\s`)?", so each scalar
/// is classified once and the hand-written scanners in `SplitPattern` work on the classes; this is
/// much faster than a regex engine and matches Oniguruma's Unicode definitions (`\s` = White_Space).
enum ScalarClass: UInt8, Sendable {
    case letter, number, whitespace, other

    private static let ascii: [ScalarClass] = (0..<128).map { v in
        ScalarClass.classifySlow(Unicode.Scalar(UInt8(v)))
    }

    @inline(__always)
    static func of(_ s: Unicode.Scalar) -> ScalarClass {
        if s.value < 128 { return ascii[Int(s.value)] }
        return classifySlow(s)
    }

    private static func classifySlow(_ s: Unicode.Scalar) -> ScalarClass {
        let p = s.properties
        if p.isWhitespace { return .whitespace }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}

/// A UTF-8 buffer decoded into scalars, keeping each scalar's byte offset so that splits found on
/// scalars can be returned as byte ranges of the original buffer.
struct DecodedScalars {
    var scalars: [Unicode.Scalar] = []
    /// `offsets[i]` is the byte offset of scalar `i`; `offsets[count]` is the end.
    var offsets: [Int] = []

    init<C: Collection>(_ bytes: C) where C.Element == UInt8, C.Index == Int {
        scalars.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var index = bytes.startIndex
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                scalars.append(s)
                offsets.append(index)
                index += UTF8.width(s)
            case .emptyInput:
                break loop
            case .error:
                // Only reachable for invalid UTF-8, which a Swift String never contains.
                scalars.append("\u{FFFD}")
                offsets.append(index)
                index += 1
            }
        }
        offsets.append(index)
    }

    var count: Int { scalars.count }
}

/// Utilities for UTF-8 byte buffers.
enum UTF8Text {
    /// Whether `bytes` is well-formed UTF-8 (Rust's `String::from_utf8` succeeds).
    static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Lossy conversion, replacing each maximal ill-formed subsequence with U+FFFD (what Rust's
    /// `String::from_utf8_lossy` does).
    static func lossy<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes, as: UTF8.self)
    }
}
