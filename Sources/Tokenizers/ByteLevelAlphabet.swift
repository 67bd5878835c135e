/// GPT-2's reversible map between the 256 byte values and printable Unicode characters.
///
/// Byte-level BPE vocabularies (GPT-2, Llama 3, SmolLM) are written in this alphabet (`Ġ` is the
/// space byte, `Ċ` the newline byte), so encoding maps input bytes into it and decoding maps back.
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the character that stands for byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        var printable: [UInt32] = []
        printable += Array(UInt32(0x21)...UInt32(0x7E))   // '!' ... '~'
        printable += Array(UInt32(0xA1)...UInt32(0xAC))   // '¡' ... '¬'
        printable += Array(UInt32(0xAE)...UInt32(0xFF))   // '®' ... 'ÿ'
        var table = [UInt32](repeating: 0, count: 256)
        var isPrintable = [Bool](repeating: false, count: 256)
        for b in printable {
            table[Int(b)] = b
            isPrintable[Int(b)] = true
        }
        var next: UInt32 = 256
        for b in 0..<256 where !isPrintable[b] {
            table[b] = next
            next += 1
        }
        return table.map { Unicode.Scalar($0)! }
    }()

    /// Inverse of `scalarForByte`, keyed by scalar value.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in scalarForByte.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The UTF-8 of the byte-level spelling of `bytes` (what HF's ByteLevel pre-tokenizer produces).
    static func encode<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes {
            UTF8.encode(scalarForByte[Int(b)]) { out.append($0) }
        }
        return out
    }

    /// Maps a token's byte-level spelling back to raw bytes; `nil` if a character is outside the
    /// alphabet (HF then uses the token's own UTF-8 bytes).
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = byteForScalar[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
