import CZstd

/// One-shot zstd compression of payloads.
///
/// Exists to keep the size checks that make decompression safe against zip bombs next to the calls they guard.
enum Zstd {
    // ZSTD_CONTENTSIZE_UNKNOWN / _ERROR are macros that do not import into Swift.
    static let contentSizeUnknown: UInt64 = UInt64.max
    static let contentSizeError: UInt64 = UInt64.max - 1

    /// Compresses `src` into a new array prefixed with `headerRoom` zero bytes.
    static func compress(_ src: UnsafeRawBufferPointer, level: Int32, headerRoom: Int) throws(WireError) -> [UInt8] {
        let bound = ZSTD_compressBound(src.count)
        if ZSTD_isError(bound) != 0 { throw .frameTooLarge(src.count) }
        var out = [UInt8](repeating: 0, count: headerRoom + bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress! + headerRoom, bound, src.baseAddress, src.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw .compressionFailed(String(cString: ZSTD_getErrorName(written)))
        }
        out.removeLast(bound - written)
        return out
    }

    /// Decompresses one zstd frame whose header must declare a content size of at most `maxBytes`.
    /// The size is checked before any allocation, so a tiny frame declaring gigabytes costs nothing.
    static func decompress(_ src: UnsafeRawBufferPointer, maxBytes: Int) throws(WireError) -> [UInt8] {
        guard let base = src.baseAddress, src.count > 0 else {
            throw .decompressionFailed("empty compressed payload")
        }
        let declared = ZSTD_getFrameContentSize(base, src.count)
        switch declared {
        case contentSizeError:
            throw .decompressionFailed("not a zstd frame")
        case contentSizeUnknown:
            throw .decompressionFailed("zstd frame does not declare its decompressed size")
        default:
            break
        }
        guard declared <= UInt64(maxBytes) else {
            throw .frameTooLarge(declared > UInt64(Int.max) ? Int.max : Int(declared))
        }
        let size = Int(declared)
        var out = [UInt8](repeating: 0, count: size)
        // capacity == declared size: a frame that lies about its size (or trailing frames) fails instead of growing.
        let got = out.withUnsafeMutableBytes { dst in
            ZSTD_decompress(dst.baseAddress, size, base, src.count)
        }
        if ZSTD_isError(got) != 0 {
            throw .decompressionFailed(String(cString: ZSTD_getErrorName(got)))
        }
        guard got == size else {
            throw .decompressionFailed("decompressed \(got) bytes, header declared \(size)")
        }
        return out
    }
}
