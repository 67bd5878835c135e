import LoopIO
import Logging
import WireProtocol

/// One gateway's connection to a worker, on the worker's event loop: decodes frames, runs them through its
/// `GatewayConnectionStateMachine`, and writes what the engine thread publishes for it.
///
/// It exists to keep sockets off the engine thread. A gateway that stops reading never holds the engine up:
/// frames queue in libuv, and once more than `maxPendingWriteBytes` are waiting the connection is closed, which
/// cancels its requests and frees their KV blocks. Loop thread only.
final class GatewayConnection {
    /// What a connection needs from its worker.
    struct Environment {
        /// The handshake answer (model, limits, heartbeat interval).
        let helloAck: HelloAck
        /// The worker's status frame as of now.
        let status: () -> StatusReply
        /// Hands a command to the engine thread; false once the engine has stopped (the reply is then the failure).
        let submit: (EngineCommand) -> ErrorReply?
        let maxPendingWriteBytes: Int
        let maxFrameBytes: Int
        let log: Logger
    }

    let id: ConnectionID
    private let stream: UVStream
    private let environment: Environment
    private var decoder: FrameDecoder
    private var machine: GatewayConnectionStateMachine
    private var compression = CompressionPolicy.none
    private let onClosed: (GatewayConnection) -> Void

    init(id: ConnectionID, stream: UVStream, environment: Environment, onClosed: @escaping (GatewayConnection) -> Void) {
        self.id = id
        self.stream = stream
        self.environment = environment
        self.onClosed = onClosed
        decoder = FrameDecoder(maxFrameBytes: environment.maxFrameBytes)
        machine = GatewayConnectionStateMachine(connection: id)
        // connection → stream → closures → connection: broken in the stream's close callback.
        stream.onRead = { bytes in self.received(bytes) }
        stream.onReadEnd = { _ in self.close() }
        stream.onWriteError = { _ in self.close() }
        stream.onClosed = { self.streamClosed() }
    }

    /// True once the handshake succeeded and until the connection closes.
    var isServing: Bool { machine.state == .serving }

    func start() { stream.startReading() }

    /// Refuses the connection before reading anything (the worker is at its connection limit).
    func refuse(_ reply: ErrorReply) {
        write(.error(reply))
        stream.shutdown { _ in self.close() }
    }

    /// Writes frames the engine published for this connection; closes a connection that stopped reading.
    func deliver(_ messages: [WireMessage]) {
        guard isServing else { return }
        for message in messages { write(message) }
        if stream.pendingWriteBytes > environment.maxPendingWriteBytes {
            environment.log.warning("\(id) stopped reading (\(stream.pendingWriteBytes) bytes unsent): closing it and cancelling its requests")
            close()
        }
    }

    func close() { stream.close() }

    // MARK: Events

    private func received(_ bytes: UnsafeRawBufferPointer) {
        decoder.feed(bytes)
        while machine.state == .serving || machine.state == .awaitingHello {
            let message: WireMessage?
            do throws(WireError) { message = try decoder.next() } catch {
                perform(machine.receivedBadFrame(error))
                return
            }
            guard let message else { return }
            perform(machine.received(message))
        }
    }

    private func streamClosed() {
        perform(machine.closed())
        onClosed(self)
    }

    private func perform(_ actions: [GatewayConnectionStateMachine.Action]) {
        for action in actions {
            switch action {
            case .acknowledge(let hello):
                write(.helloAck(environment.helloAck))
                compression = .negotiated(peerAcceptsZstd: hello.acceptsZstd)
            case .reply(let reply):
                write(.error(reply))
            case .refuse(let reply):
                refuse(reply)
            case .sendStatus:
                write(.statusReply(environment.status()))
            case .submit(let command):
                if let failure = environment.submit(command), case .add(let request, _) = command {
                    write(.error(ErrorReply(requestID: request.requestID, code: failure.code, message: failure.message)))
                }
            }
        }
    }

    private func write(_ message: WireMessage) {
        do {
            stream.write([try FrameCodec.encode(message, compression: compression)])
        } catch {
            environment.log.error("\(id): cannot encode a frame: \(error)")
        }
    }
}
