import WireProtocol

/// The frames one engine step produced, per gateway connection: one `TokenBatch` with every update for that
/// connection's requests, and the error replies of requests refused or failed. The engine thread fills it; the
/// loop thread writes it.
struct StepOutbox: Sendable {
    private(set) var byConnection: [ConnectionID: (updates: [TokenUpdate], errors: [ErrorReply])] = [:]

    var isEmpty: Bool { byConnection.isEmpty }

    mutating func add(_ update: TokenUpdate, to connection: ConnectionID) {
        byConnection[connection, default: ([], [])].updates.append(update)
    }

    mutating func add(_ error: ErrorReply, to connection: ConnectionID) {
        byConnection[connection, default: ([], [])].errors.append(error)
    }

    /// The frames for `connection`, in the order to write them.
    func messages(for connection: ConnectionID) -> [WireMessage] {
        guard let entry = byConnection[connection] else { return [] }
        return entry.errors.map(WireMessage.error) + (entry.updates.isEmpty ? [] : [.tokens(TokenBatch(updates: entry.updates))])
    }
}
