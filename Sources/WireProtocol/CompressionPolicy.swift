/// When `FrameCodec.encode` compresses a payload with zstd.
///
/// Exists because compression only pays for large frames (long prompts, big token batches) and must only be used
/// when the peer announced `acceptsZstd` in its `Hello` / `HelloAck`.
public struct CompressionPolicy: Sendable, Equatable {
    /// Compress at all. Set from the peer's `acceptsZstd`.
    public var enabled: Bool
    /// Payloads of at most this many bytes are sent uncompressed.
    public var thresholdBytes: Int
    /// zstd level (1...19; 3 is zstd's default: ~100 MB/s compress on the dev machines).
    public var level: Int32

    public init(enabled: Bool, thresholdBytes: Int = 4096, level: Int32 = 3) {
        self.enabled = enabled
        self.thresholdBytes = thresholdBytes
        self.level = level
    }

    /// Never compress (before the handshake, or when the peer does not accept zstd).
    public static let none = CompressionPolicy(enabled: false)
    /// Compress payloads over 4096 bytes at level 3.
    public static let `default` = CompressionPolicy(enabled: true)

    /// `.default` if the peer accepts zstd, else `.none`.
    public static func negotiated(peerAcceptsZstd: Bool) -> CompressionPolicy {
        peerAcceptsZstd ? .default : .none
    }
}
