/// Incremental frame parser: feed it bytes as they arrive from a socket, pull out whole messages.
///
/// Exists because stream sockets deliver arbitrary chunks (half a header, three frames at once); both the libuv
/// gateway and the blocking socket helper share this one parser.
///
/// Error behaviour:
/// - **Framing errors** (`badHeader`, or `frameTooLarge` for the length in the header) mean the byte stream can no
///   longer be split into frames. The decoder becomes *poisoned*: `isPoisoned` is true, further `feed` calls are
///   ignored and every `next()` throws the same error again. Close the connection.
/// - **Payload errors** (`malformedMessage`, `unknownMessage`, `decompressionFailed`, and `frameTooLarge` for a
///   declared decompressed size) concern one frame whose bytes have been consumed; the stream is still in sync and
///   the next `next()` continues with the following frame. Whether to keep the connection is the caller's choice.
public struct FrameDecoder: Sendable {
    /// Upper bound for a frame's payload length as sent, and for its decompressed size.
    public let maxFrameBytes: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var poison: WireError?

    public init(maxFrameBytes: Int = 64 << 20) {
        precondition(maxFrameBytes >= 0, "maxFrameBytes must not be negative")
        self.maxFrameBytes = maxFrameBytes
    }

    /// True after a framing error; see the type's documentation.
    public var isPoisoned: Bool { poison != nil }

    /// Bytes received but not yet returned as messages (non-zero at EOF means the peer stopped mid-frame).
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Appends received bytes. Ignored once the decoder is poisoned.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard poison == nil, !bytes.isEmpty else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes. Ignored once the decoder is poisoned.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next complete message, or `nil` if more bytes are needed. Throws on a bad frame (see type docs).
    public mutating func next() throws(WireError) -> WireMessage? {
        if let poison { throw poison }
        let available = buffer.count - readIndex
        guard available >= FrameHeader.size else { return nil }

        let (length, flags) = buffer.withUnsafeBytes { all in
            FrameHeader.read(UnsafeRawBufferPointer(rebasing: all[readIndex..<readIndex + FrameHeader.size]))
        }
        if flags & ~FrameHeader.knownFlags != 0 {
            return try poisoned(.badHeader("reserved flag bits set: 0x\(String(flags, radix: 16))"))
        }
        if length > maxFrameBytes {
            return try poisoned(.frameTooLarge(length))
        }
        guard available >= FrameHeader.size + length else {
            buffer.reserveCapacity(readIndex + FrameHeader.size + length)
            return nil
        }

        let start = readIndex + FrameHeader.size
        readIndex = start + length  // consumed whatever happens below: the stream stays in sync
        let limit = maxFrameBytes
        let result: Result<WireMessage, WireError> = buffer.withUnsafeBytes { all in
            let payload = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
            do throws(WireError) {
                if flags & FrameHeader.zstdFlag != 0 {
                    let plain = try Zstd.decompress(payload, maxBytes: limit)
                    return plain.withUnsafeBytes { p in Result { () throws(WireError) in try unpackFrame(p) } }
                }
                return .success(try unpackFrame(payload))
            } catch {
                return .failure(error)
            }
        }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        }
        return try result.get()
    }

    private mutating func poisoned(_ error: WireError) throws(WireError) -> WireMessage? {
        poison = error
        buffer = []
        readIndex = 0
        throw error
    }

    /// Drops consumed bytes when they make up at least half of the buffer (amortised O(1) per byte).
    private mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
