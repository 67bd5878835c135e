/// Handshake validation: the worker checks the gateway's `Hello`.
///
/// Exists so that both processes apply the same compatibility rule (exact version match for now).
/// On failure the worker should send `ErrorReply.versionMismatch(local:remote:)` and close the connection.
public func checkVersion(_ hello: Hello, local: UInt32 = WireProtocolVersion.current) throws(WireError) {
    guard hello.protocolVersion == local else {
        throw .versionMismatch(local: local, remote: hello.protocolVersion)
    }
}

/// Handshake validation: the gateway checks the worker's `HelloAck` (same rule as for `Hello`).
public func checkVersion(_ ack: HelloAck, local: UInt32 = WireProtocolVersion.current) throws(WireError) {
    guard ack.protocolVersion == local else {
        throw .versionMismatch(local: local, remote: ack.protocolVersion)
    }
}
