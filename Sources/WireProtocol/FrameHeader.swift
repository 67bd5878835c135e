/// The 5-byte header in front of every payload: UInt32 little-endian payload length, then one flags byte.
///
/// Exists to keep the framing constants and their validation in one place for the encoder and the decoder.
enum FrameHeader {
    static let size = 5
    /// Flags bit 0: the payload is one zstd frame whose header declares the decompressed size.
    static let zstdFlag: UInt8 = 0x01
    /// Every other bit is reserved and must be 0.
    static let knownFlags: UInt8 = zstdFlag

    static func write(length: Int, flags: UInt8, into buffer: inout [UInt8]) {
        let n = UInt32(length)
        buffer[0] = UInt8(truncatingIfNeeded: n)
        buffer[1] = UInt8(truncatingIfNeeded: n >> 8)
        buffer[2] = UInt8(truncatingIfNeeded: n >> 16)
        buffer[3] = UInt8(truncatingIfNeeded: n >> 24)
        buffer[4] = flags
    }

    static func read(_ p: UnsafeRawBufferPointer) -> (length: Int, flags: UInt8) {
        let n = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
        return (Int(n), p[4])
    }
}
