/// Turns vocabulary pieces back into text (HuggingFace `decoder`).
///
/// Mirrors HF's `decode_chain` step by step, because the exact output (which `▁` becomes a space,
/// how invalid byte runs become U+FFFD, which leading space is stripped) is part of what clients see.
/// Named `TokenDecoder` to stay clear of Swift's `Decoder` protocol.
indirect enum TokenDecoder: Sendable, Equatable {
    case sequence([TokenDecoder])
    /// Replaces a literal pattern in every token.
    case replace(pattern: String, content: String)
    /// Turns runs of `<0xXX>` tokens into the UTF-8 text they spell (U+FFFD per byte if invalid).
    case byteFallback
    /// Concatenates all tokens into one.
    case fuse
    /// Removes up to `start` leading and `stop` trailing `content` characters from every token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// GPT-2 byte-level: maps the byte alphabet back to bytes, lossy UTF-8, one token out.
    case byteLevel
    /// Metaspace: `replacement` becomes a space, and the first token loses its replacement
    /// characters unless `prependScheme` is never.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)

    /// Decodes pieces to text.
    ///
    /// `continuation` asks for the text these tokens contribute when they follow tokens that
    /// already produced text: sequence-start effects (stripping the leading space of the fused text,
    /// Metaspace's first-token rule) are not applied. The incremental detokenizer relies on it.
    func decode(_ tokens: [String], continuation: Bool) -> String {
        var fused = false
        return decodeChain(tokens, continuation: continuation, fused: &fused).joined()
    }

    private func decodeChain(_ tokens: [String], continuation: Bool, fused: inout Bool) -> [String] {
        switch self {
        case .sequence(let steps):
            var current = tokens
            for step in steps { current = step.decodeChain(current, continuation: continuation, fused: &fused) }
            return current

        case let .replace(pattern, content):
            return tokens.map { ByteSearch.replace($0, pattern: pattern, with: content) }

        case .byteFallback:
            var out: [String] = []
            out.reserveCapacity(tokens.count)
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if UTF8Text.isValid(pending) {
                    out.append(String(decoding: pending, as: UTF8.self))
                } else {
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll(keepingCapacity: true)
            }
            for token in tokens {
                if let byte = Self.byteToken(token) {
                    pending.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out

        case .fuse:
            fused = true
            return [tokens.joined()]

        case let .strip(content, start, stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var lo = 0
                let startBudget = (continuation && fused) ? 0 : start
                while lo < startBudget && lo < scalars.count && scalars[lo] == content { lo += 1 }
                var hi = scalars.count
                var cut = 0
                while cut < stop && hi > lo && scalars[hi - 1] == content { hi -= 1; cut += 1 }
                if lo == 0 && hi == scalars.count { return token }
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars[lo..<hi])
                return String(s)
            }

        case .byteLevel:
            fused = true
            var bytes: [UInt8] = []
            for token in tokens {
                if let raw = ByteLevelAlphabet.decode(token) {
                    bytes.append(contentsOf: raw)
                } else {
                    bytes.append(contentsOf: token.utf8)
                }
            }
            return [UTF8Text.lossy(bytes)]

        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, token in
                var s = String.UnicodeScalarView()
                let dropReplacement = i == 0 && scheme != .never && !(continuation)
                for c in token.unicodeScalars {
                    if c == replacement {
                        if !dropReplacement { s.append(" ") }
                    } else {
                        s.append(c)
                    }
                }
                return String(s)
            }
        }
    }

    /// The byte a `<0xXX>` token stands for.
    static func byteToken(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        guard let hi = hexValue(u[3]), let lo = hexValue(u[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
