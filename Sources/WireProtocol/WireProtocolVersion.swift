/// The protocol version exchanged in `Hello` / `HelloAck`.
///
/// Exists so that a gateway and a worker built from different commits refuse to talk instead of misreading each
/// other's frames. Bump `current` for every incompatible change to `scalellm.proto` or to the framing.
public enum WireProtocolVersion {
    /// The version this build speaks.
    public static let current: UInt32 = 2
}
