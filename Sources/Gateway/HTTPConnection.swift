import LoopIO
/// One accepted TCP connection of an `HTTPServer`: its socket, timer and request parser.
///
/// It exists to carry out what `HTTPConnectionStateMachine` decides (keep-alive, pipelining, timeouts, graceful
/// close): it reports each event of the socket, the timer, the parser and the current `HTTPResponseWriter` to the
/// machine and performs the actions it returns. The server itself only accepts connections. Loop thread only.
final class HTTPConnection {
    private typealias StateMachine = HTTPConnectionStateMachine<HTTPResponseWriter>

    private let server: HTTPServer
    private let stream: UVStream
    private let timer: TimerHandle
    private var parser: HTTPRequestParser
    private var machine: StateMachine
    /// True while `parseBufferedRequests` runs: a handler answering at once comes back through `responseFinished`,
    /// and the running loop takes the next pipelined request instead of a nested call.
    private var isParsing = false

    init(server: HTTPServer, stream: UVStream) {
        self.server = server
        self.stream = stream
        self.timer = TimerHandle(loop: server.loop, closesAfterFiring: false)
        self.parser = HTTPRequestParser(limits: HTTPParserLimits(
            maxRequestLineBytes: server.configuration.maxRequestLineBytes,
            maxHeaderBytes: server.configuration.maxHeaderBytes,
            maxHeaderCount: server.configuration.maxHeaderCount,
            maxBodyBytes: server.configuration.maxBodyBytes))
        self.machine = StateMachine(configuration: server.configuration)
        // These closures form a cycle (connection → stream → closure → connection) that `UVStream` breaks in its
        // close callback, which keeps the connection alive exactly as long as its socket.
        stream.onRead = { bytes in self.didRead(bytes) }
        stream.onReadEnd = { _ in self.close() }
        stream.onWriteError = { _ in self.close() }
        stream.onClosed = { self.perform(self.machine.streamClosed()) }
    }

    /// Starts serving requests.
    func start() { perform(machine.start()) }

    /// Answers 503 without reading a request, then closes (used above `maxConnections`).
    func reject() { perform(machine.reject()) }

    /// Closes at once: queued writes are dropped, an unfinished response's `onClose` fires from the close callback.
    func close() { perform(machine.closeRequested()) }

    // MARK: Called by the current response's writer

    /// A request is being answered: the connection holds work a graceful stop waits for.
    var isResponding: Bool { machine.isResponding }

    /// Whether the response being written is the connection's last.
    var closesAfterResponse: Bool { machine.closesAfterResponse }

    /// The response being written ends by closing the connection (a stream to an HTTP/1.0 client).
    func responseIsCloseDelimited() { machine.responseIsCloseDelimited() }

    /// Queues bytes, or closes the connection if the client stopped reading (see `writeRequested`).
    func write(_ pieces: [[UInt8]]) {
        perform(machine.writeRequested(pieces, pendingWriteBytes: stream.pendingWriteBytes))
    }

    /// The last byte of the current response is queued.
    func responseFinished() { perform(machine.responseFinished()) }

    // MARK: Reading

    private func didRead(_ bytes: UnsafeRawBufferPointer) {
        guard !machine.isDiscardingInput else { return }
        parser.append(bytes)
        perform(machine.inputBuffered(byteCount: parser.bufferedByteCount))
    }

    /// Hands buffered requests to the machine one at a time; a handler that answers synchronously lets the loop
    /// continue with the next pipelined request without recursion.
    private func parseBufferedRequests() {
        guard !isParsing else { return }
        isParsing = true
        defer { isParsing = false }
        while machine.isAwaitingRequest {
            let request: HTTPRequest
            do {
                guard let next = try parser.nextRequest() else {
                    if parser.takeContinueRequest() { write([HTTPResponseEncoding.continueResponse]) }
                    perform(machine.needsMoreInput(phase: parser.phase))
                    return
                }
                request = next
            } catch {
                perform(machine.requestMalformed(error))
                return
            }
            perform(machine.requestReceived(request, response: HTTPResponseWriter(connection: self, request: request),
                                            serverIsClosing: server.isClosing))
        }
    }

    // MARK: Actions

    /// Performs `actions` in order. An action can close the connection part-way through a batch (a read that
    /// cannot start, a write refused at once); what remains of that batch is then dropped, as the closed
    /// connection would refuse it anyway.
    private func perform(_ actions: [StateMachine.Action]) {
        let closing = machine.isClosed
        for action in actions {
            if !closing && machine.isClosed { return }
            switch action {
            case .startReading:
                stream.startReading()
            case .stopReading:
                stream.stopReading()
            case .parse:
                parseBufferedRequests()
            case .dispatch(let request, let writer):
                server.handler(request, writer)
            case .write(let pieces):
                if !stream.write(pieces) { close() }
            case .sendError(let status, let message, let type):
                server.onServerError?(status)
                write([HTTPResponseEncoding.errorResponse(status: status, message: message, type: type)])
                responseFinished()
            case .startTimer(let milliseconds):
                timer.start(after: milliseconds, repeat: 0) { self.perform(self.machine.timerFired()) }
            case .stopTimer:
                timer.stop()
            case .shutDownWriteSide:
                stream.shutdown { status in self.perform(self.machine.writeSideShutDown(succeeded: status >= 0)) }
            case .closeTimer:
                timer.close()
            case .detach(let writer):
                writer.connectionClosed()
            case .closeStream:
                stream.close()
            case .unregister:
                server.connectionDidClose(self)
            case .fireOnClose(let writer):
                writer.fireOnClose()
            }
        }
    }
}
