/// Turns a `WireMessage` into the bytes of one frame (header + payload).
///
/// Exists as the single encoder both processes use, so that framing and compression decisions cannot diverge.
/// Decoding is incremental and lives in `FrameDecoder`.
public enum FrameCodec {
    /// Size of the frame header (UInt32 LE payload length + flags byte).
    public static let headerSize = FrameHeader.size

    /// Encodes `message` as a complete frame. The payload is zstd-compressed when `compression.enabled`, the packed
    /// protobuf is larger than `compression.thresholdBytes`, and compression actually makes it smaller.
    public static func encode(_ message: WireMessage, compression: CompressionPolicy) throws(WireError) -> [UInt8] {
        var frame = try packFrame(message, headerRoom: FrameHeader.size)
        let payloadCount = frame.count - FrameHeader.size
        if compression.enabled && payloadCount > compression.thresholdBytes {
            var compressed: [UInt8] = []
            var failure: WireError?
            frame.withUnsafeBytes { all in
                do throws(WireError) {
                    compressed = try Zstd.compress(UnsafeRawBufferPointer(rebasing: all[FrameHeader.size...]),
                                                   level: compression.level, headerRoom: FrameHeader.size)
                } catch { failure = error }
            }
            if let failure { throw failure }
            if compressed.count < frame.count {
                FrameHeader.write(length: compressed.count - FrameHeader.size, flags: FrameHeader.zstdFlag,
                                  into: &compressed)
                return compressed
            }
        }
        FrameHeader.write(length: payloadCount, flags: 0, into: &frame)
        return frame
    }
}
