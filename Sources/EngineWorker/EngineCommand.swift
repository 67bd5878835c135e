import WireProtocol

/// Which gateway connection of a worker something belongs to: assigned by the loop thread when it accepts.
struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    let raw: UInt64
    var description: String { "connection \(raw)" }
}

/// What the loop thread asks of the engine thread. The engine is single-threaded, so every change to it arrives
/// as one of these and is applied between steps.
enum EngineCommand: Sendable, Equatable {
    case add(WireProtocol.GenerateRequest, from: ConnectionID)
    case cancel(UInt64, from: ConnectionID)
    case connectionClosed(ConnectionID)
}
