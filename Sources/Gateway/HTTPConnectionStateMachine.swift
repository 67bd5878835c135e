/// The lifecycle of one accepted HTTP connection: which request is being answered, which timeout runs, when
/// reading pauses, and how the connection closes.
///
/// It exists so that keep-alive, pipelining, the timeouts and the graceful close can be read in one place and
/// tested event by event without sockets. `HTTPConnection` owns the socket, the timer and the parser; it reports
/// every event here and performs the actions returned, in order. `Response` is what answers one request (the
/// connection's `HTTPResponseWriter`; any value in tests). Loop thread only, like its connection.
///
/// `reading` —request→ `responding` —response finished, keep-alive→ `reading` …; a response after which the
/// connection closes (and the server's own error responses: malformed request, read timeout, connection limit)
/// goes on to `flushing` (write side shut down once queued bytes are sent) → `lingering` (input discarded until
/// EOF or the linger timeout, so that the client reads the last response rather than a reset) → `closing`. EOF, a
/// failed write, the backpressure limit, the idle, flush and linger timeouts and the server's `close()` go to
/// `closing` at once; the socket's close callback ends in `closed`.
struct HTTPConnectionStateMachine<Response> {
    enum State {
        /// Waiting for a request or the rest of one. `deadline`: the parser phase whose timeout is armed (the
        /// header timeout runs once per head, the body timeout restarts with every read); nil: none yet.
        case reading(deadline: HTTPRequestParser.Phase?)
        /// A request is being answered, by the handler through `Response` or, when nil, by the server's own error
        /// response. No timeout runs. `closeAfterResponse`: the connection closes once it is complete;
        /// `readPaused`: reading stopped because the client pipelined too much meanwhile.
        case responding(Response?, closeAfterResponse: Bool, readPaused: Bool)
        /// The last response is queued; the write side shuts down once it is sent (within the idle timeout).
        case flushing
        /// The write side is shut down; input is discarded until EOF or the linger timeout.
        case lingering
        /// Closed at once, waiting for the socket's close callback; `abandoned` is the response cut short.
        case closing(abandoned: Response?)
        /// The socket's close callback ran.
        case closed
    }

    enum Action {
        case startReading
        case stopReading
        /// Parse the buffered input: report each complete request (`requestReceived`), a malformed one
        /// (`requestMalformed`), or that more bytes are needed (`needsMoreInput`), while `isAwaitingRequest`.
        case parse
        /// Hand the request to the handler, which answers through `Response`.
        case dispatch(HTTPRequest, Response)
        /// Queue the bytes; a write refused at once reports `closeRequested`.
        case write([[UInt8]])
        /// Answer the current request with the server's own JSON error (counted as a server error), then report
        /// `responseFinished`.
        case sendError(status: Int, message: String, type: String)
        case startTimer(milliseconds: UInt64)
        case stopTimer
        /// Shut down the write side once queued bytes are sent, then report `writeSideShutDown`.
        case shutDownWriteSide
        case closeTimer
        /// The response can no longer write: its connection is closing.
        case detach(Response)
        /// Close the socket at once (queued writes are dropped); its close callback reports `streamClosed`.
        case closeStream
        /// Tell the server the connection is gone.
        case unregister
        /// Tell the handler its response was cut short (`HTTPResponder.onClose`), if it was.
        case fireOnClose(Response)
    }

    private(set) var state = State.reading(deadline: nil)
    private let configuration: HTTPServer.Configuration
    /// The first request of a connection must arrive within the header timeout, later ones within the idle timeout.
    private var isFirstRequest = true

    init(configuration: HTTPServer.Configuration) {
        self.configuration = configuration
    }

    /// While the client may pipeline further requests behind one being answered, up to this many bytes are
    /// buffered before reading pauses: one request of the largest allowed size, and some.
    private var pipelinedByteLimit: Int { configuration.maxBodyBytes + configuration.maxHeaderBytes + 65536 }

    // MARK: Queries

    /// True in `reading`: the parser may hand over the next request.
    var isAwaitingRequest: Bool {
        if case .reading = state { return true }
        return false
    }

    /// True once no more requests are read: input is thrown away unparsed.
    var isDiscardingInput: Bool {
        switch state {
        case .reading, .responding: return false
        case .flushing, .lingering, .closing, .closed: return true
        }
    }

    /// True once the connection is closing or closed.
    var isClosed: Bool {
        switch state {
        case .closing, .closed: return true
        case .reading, .responding, .flushing, .lingering: return false
        }
    }

    /// Whether the response being written is the connection's last (it says `Connection: close`).
    /// A request is being answered (by the handler or the server's own error response).
    var isResponding: Bool {
        if case .responding = state { return true }
        return false
    }

    var closesAfterResponse: Bool {
        if case .responding(_, let closeAfterResponse, _) = state { return closeAfterResponse }
        return true
    }

    // MARK: Events

    /// The connection was accepted and is to be served.
    mutating func start() -> [Action] {
        guard case .reading(deadline: nil) = state else { return [] }
        return [.startReading, .parse]
    }

    /// The connection was accepted above the connection limit: it is answered 503 without reading a request.
    mutating func reject() -> [Action] {
        guard case .reading(deadline: nil) = state else { return [] }
        state = .responding(nil, closeAfterResponse: true, readPaused: false)
        return [.startReading,
                .sendError(status: 503, message: "The server is at its connection limit; retry later.", type: "server_error")]
    }

    /// Bytes were read and appended to the parser, which now holds `byteCount` unconsumed bytes.
    mutating func inputBuffered(byteCount: Int) -> [Action] {
        switch state {
        case .reading:
            return [.parse]
        case .responding(let response, let closeAfterResponse, false) where byteCount > pipelinedByteLimit:
            // The client keeps pipelining while a response is in flight: stop reading until it is done. (While
            // paused, a disconnect is noticed only through a failing write.)
            state = .responding(response, closeAfterResponse: closeAfterResponse, readPaused: true)
            return [.stopReading]
        case .responding, .flushing, .lingering, .closing, .closed:
            return []
        }
    }

    /// The parser produced a complete request; `response` will answer it. The server being closing makes it the
    /// connection's last.
    mutating func requestReceived(_ request: HTTPRequest, response: Response, serverIsClosing: Bool) -> [Action] {
        guard case .reading = state else { return [] }
        state = .responding(response, closeAfterResponse: !request.keepAlive || serverIsClosing, readPaused: false)
        return [.stopTimer, .dispatch(request, response)]
    }

    /// The parser failed: the client gets the error's status and the connection closes.
    mutating func requestMalformed(_ error: HTTPParseError) -> [Action] {
        guard case .reading = state else { return [] }
        state = .responding(nil, closeAfterResponse: true, readPaused: false)
        return [.sendError(status: error.status, message: error.message, type: "invalid_request_error")]
    }

    /// The parser needs more bytes and is in `phase`: arms that phase's timeout.
    mutating func needsMoreInput(phase: HTTPRequestParser.Phase) -> [Action] {
        guard case .reading(let deadline) = state, deadline != phase || phase == .body else { return [] }
        state = .reading(deadline: phase)
        switch phase {
        case .idle: return [armTimer(isFirstRequest ? configuration.headerReadTimeoutMs : configuration.idleTimeoutMs)]
        case .head: return [armTimer(configuration.headerReadTimeoutMs)]
        case .body: return [armTimer(configuration.idleTimeoutMs)]
        }
    }

    /// The response being written will be delimited by closing the connection (a stream to an HTTP/1.0 client).
    mutating func responseIsCloseDelimited() {
        guard case .responding(let response, _, let readPaused) = state else { return }
        state = .responding(response, closeAfterResponse: true, readPaused: readPaused)
    }

    /// Bytes are to be queued while `pendingWriteBytes` are still unsent. Beyond `maxPendingWriteBytes` the client
    /// is not reading and the connection closes instead, so memory per connection stays below that limit plus
    /// one write (a single large response body is therefore always accepted).
    mutating func writeRequested(_ pieces: [[UInt8]], pendingWriteBytes: Int) -> [Action] {
        switch state {
        case .reading, .responding:
            return pendingWriteBytes > configuration.maxPendingWriteBytes ? closeAtOnce() : [.write(pieces)]
        case .flushing, .lingering, .closing, .closed:
            return []
        }
    }

    /// The last byte of the current response is queued.
    mutating func responseFinished() -> [Action] {
        guard case .responding(_, let closeAfterResponse, let readPaused) = state else { return [] }
        isFirstRequest = false
        let resume: [Action] = readPaused ? [.startReading] : []
        if closeAfterResponse {
            state = .flushing
            return [armTimer(configuration.idleTimeoutMs)] + resume + [.shutDownWriteSide]
        }
        state = .reading(deadline: nil)
        return resume + [.parse]
    }

    /// The armed timeout expired.
    mutating func timerFired() -> [Action] {
        switch state {
        case .reading(deadline: .idle?), .flushing, .lingering:
            return closeAtOnce()
        case .reading(deadline: .head?), .reading(deadline: .body?):
            state = .responding(nil, closeAfterResponse: true, readPaused: false)
            return [.sendError(status: 408, message: "Timed out waiting for the request.", type: "invalid_request_error")]
        case .reading(deadline: nil), .responding, .closing, .closed:
            return []
        }
    }

    /// The write side finished shutting down (`succeeded` false: it could not).
    mutating func writeSideShutDown(succeeded: Bool) -> [Action] {
        guard case .flushing = state else { return [] }
        guard succeeded, configuration.lingerTimeoutMs > 0 else { return closeAtOnce() }
        state = .lingering
        return [armTimer(configuration.lingerTimeoutMs)]
    }

    /// The connection must close at once: the client's EOF or a read error, a failed or refused write, or the
    /// server closing. An unfinished response learns of it from the close callback.
    mutating func closeRequested() -> [Action] {
        closeAtOnce()
    }

    /// The socket's close callback ran — after `closeStream`, or because the loop closed the socket itself.
    mutating func streamClosed() -> [Action] {
        switch state {
        case .closing(let abandoned):
            state = .closed
            return [.unregister] + (abandoned.map { [.fireOnClose($0)] } ?? [])
        case .reading, .responding, .flushing, .lingering:
            // The loop closed the socket itself (at shutdown): what closing would have done, less the socket.
            return abandon() + streamClosed()
        case .closed:
            return []
        }
    }

    // MARK: Helpers

    private var responseInFlight: Response? {
        if case .responding(let response?, _, _) = state { return response }
        return nil
    }

    private mutating func closeAtOnce() -> [Action] {
        guard !isClosed else { return [] }
        return abandon() + [.closeStream]
    }

    /// Moves to `closing`: stops the timer and detaches the response in flight.
    private mutating func abandon() -> [Action] {
        let response = responseInFlight
        state = .closing(abandoned: response)
        return [.closeTimer] + (response.map { [.detach($0)] } ?? [])
    }

    /// Arms the timer, or stops it when the timeout is disabled (0).
    private func armTimer(_ milliseconds: UInt64) -> Action {
        milliseconds == 0 ? .stopTimer : .startTimer(milliseconds: milliseconds)
    }
}

extension HTTPConnectionStateMachine.State: Equatable where Response: Equatable {}
extension HTTPConnectionStateMachine.Action: Equatable where Response: Equatable {}
