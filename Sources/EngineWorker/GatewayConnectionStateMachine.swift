import WireProtocol

/// The lifecycle of one gateway connection on a worker: an enum of states and one method per event, each
/// returning what the connection must do (as SwiftNIO's state machines do), so that every transition can be
/// tested without a socket.
///
/// A connection must open with a compatible `Hello`; anything else first, a second `Hello`, and undecodable
/// frames are refused with a typed connection-level `ErrorReply` and the connection closes. Once serving,
/// requests and cancels go to the engine thread, messages a worker never accepts are answered with an error, and
/// the connection's close tells the engine to cancel whatever it still runs for it.
struct GatewayConnectionStateMachine: Sendable {
    enum State: Equatable, Sendable {
        case awaitingHello
        case serving
        /// A refusal is being written; the connection closes next. `served`: the engine has heard from it.
        case closing(served: Bool)
        case closed
    }

    enum Action: Equatable, Sendable {
        /// Answer the handshake (`HelloAck`, compression as the peer accepts).
        case acknowledge(Hello)
        /// Send this error and keep serving.
        case reply(ErrorReply)
        /// Send this connection-level error, then close.
        case refuse(ErrorReply)
        /// Send the worker's current status.
        case sendStatus
        /// Hand this to the engine thread.
        case submit(EngineCommand)
    }

    let connection: ConnectionID
    private(set) var state = State.awaitingHello

    init(connection: ConnectionID) {
        self.connection = connection
    }

    /// A whole message arrived.
    mutating func received(_ message: WireMessage) -> [Action] {
        switch (state, message) {
        case (.awaitingHello, .hello(let hello)):
            do throws(WireError) { try checkVersion(hello) } catch {
                return refuse(.versionMismatch(local: WireProtocolVersion.current, remote: hello.protocolVersion))
            }
            state = .serving
            return [.acknowledge(hello)]
        case (.awaitingHello, _):
            return refuse(ErrorReply(requestID: 0, code: .helloRequired,
                                     message: "the connection must open with Hello before any other message"))
        case (.serving, .hello):
            return refuse(ErrorReply(requestID: 0, code: .unexpectedMessage, message: "Hello may be sent once per connection"))
        case (.serving, .generate(let request)):
            return [.submit(.add(request, from: connection))]
        case (.serving, .cancel(let cancel)):
            return [.submit(.cancel(cancel.requestID, from: connection))]
        case (.serving, .statusRequest):
            return [.sendStatus]
        case (.serving, .helloAck), (.serving, .tokens), (.serving, .error), (.serving, .statusReply):
            return [.reply(ErrorReply(requestID: 0, code: .unexpectedMessage, message: "a worker does not accept this message"))]
        case (.closing, _), (.closed, _):
            return []
        }
    }

    /// A frame could not be decoded: the peer is told why and the connection closes.
    mutating func receivedBadFrame(_ error: WireError) -> [Action] {
        refuse(ErrorReply(requestID: 0, code: .badFrame, message: error.description))
    }

    /// The socket closed (the peer left, a write failed, the peer stopped reading, or the worker stops).
    mutating func closed() -> [Action] {
        let served: Bool
        switch state {
        case .serving: served = true
        case .closing(let wasServing): served = wasServing
        case .awaitingHello, .closed: served = false
        }
        state = .closed
        return served ? [.submit(.connectionClosed(connection))] : []
    }

    private mutating func refuse(_ reply: ErrorReply) -> [Action] {
        switch state {
        case .awaitingHello: state = .closing(served: false)
        case .serving: state = .closing(served: true)
        case .closing, .closed: return []
        }
        return [.refuse(reply)]
    }
}
