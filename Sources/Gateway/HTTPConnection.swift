import LoopIO
/// One accepted TCP connection of an `HTTPServer`: reads and parses requests, runs the handler for one request at a
/// time, writes responses, and enforces the timeouts and limits.
///
/// It exists to keep the per-connection state machine (keep-alive, pipelining, timeouts, graceful close) out of
/// the server, which only accepts connections. Loop thread only.
///
/// Lifecycle: `open` → (`draining`: response flushed, write side shut down, remaining input read and discarded
/// until EOF or the linger timeout, so that the client sees the last response rather than a reset) → `closed`.
final class HTTPConnection {
    private enum Lifecycle { case open, draining, closed }
    private enum TimerMode { case none, idle, header, body, flush, linger }

    private let server: HTTPServer
    private let configuration: HTTPServer.Configuration
    private let stream: UVStream
    private let timer: TimerHandle
    private var parser: HTTPRequestParser
    private var lifecycle = Lifecycle.open
    private var timerMode = TimerMode.none
    private var current: HTTPResponseWriter?
    private var abandoned: HTTPResponseWriter?
    private var inProcessLoop = false
    private var isFirstRequest = true
    private var readPaused = false
    /// Set per request: the response carries `Connection: close` and the connection closes after it.
    var closeAfterResponse = false

    init(server: HTTPServer, stream: UVStream) {
        self.server = server
        self.configuration = server.configuration
        self.stream = stream
        self.timer = TimerHandle(loop: server.loop, closesAfterFiring: false)
        self.parser = HTTPRequestParser(limits: HTTPParserLimits(
            maxRequestLineBytes: server.configuration.maxRequestLineBytes,
            maxHeaderBytes: server.configuration.maxHeaderBytes,
            maxHeaderCount: server.configuration.maxHeaderCount,
            maxBodyBytes: server.configuration.maxBodyBytes))
        // These closures form a cycle (connection → stream → closure → connection) that `UVStream` breaks in its
        // close callback, which keeps the connection alive exactly as long as its socket.
        stream.onRead = { bytes in self.didRead(bytes) }
        stream.onReadEnd = { _ in self.close() }
        stream.onWriteError = { _ in self.close() }
        stream.onClosed = { self.streamClosed() }
    }

    var isIdle: Bool { current == nil && lifecycle == .open && parser.phase == .idle }

    /// Starts serving requests.
    func start() {
        stream.startReading()
        processBuffered()
    }

    /// Answers 503 without reading a request, then closes (used above `maxConnections`).
    func reject() {
        stream.startReading()
        sendErrorAndClose(status: 503, message: "The server is at its connection limit; retry later.",
                          type: "server_error")
    }

    // MARK: Reading and dispatch

    private func didRead(_ bytes: UnsafeRawBufferPointer) {
        guard lifecycle == .open else { return }  // draining: discard
        parser.append(bytes)
        if current == nil {
            processBuffered()
        } else if parser.bufferedByteCount > configuration.maxBodyBytes + configuration.maxHeaderBytes + 65536 {
            // The client keeps pipelining while a response is in flight: stop reading until it is done.
            // (While paused, a disconnect is noticed only through a failing write.)
            readPaused = true
            stream.stopReading()
        }
    }

    /// Parses and dispatches buffered requests one at a time; a handler that answers synchronously lets the loop
    /// continue with the next pipelined request without recursion.
    private func processBuffered() {
        guard !inProcessLoop else { return }
        inProcessLoop = true
        defer { inProcessLoop = false }
        while current == nil && lifecycle == .open {
            let request: HTTPRequest
            do {
                guard let next = try parser.nextRequest() else {
                    if parser.takeContinueRequest() { write([HTTPResponseEncoding.continueResponse]) }
                    break
                }
                request = next
            } catch {
                sendErrorAndClose(status: error.status, message: error.message)
                return
            }
            closeAfterResponse = !request.keepAlive || server.isClosing
            let writer = HTTPResponseWriter(connection: self, request: request)
            current = writer
            updateTimer()
            server.handler(request, writer)
        }
        updateTimer()
    }

    /// Called by the writer once the last byte of its response is queued.
    func responseFinished() {
        guard lifecycle == .open else { return }
        current = nil
        isFirstRequest = false
        if closeAfterResponse {
            gracefulClose()
            return
        }
        if readPaused {
            readPaused = false
            stream.startReading()
        }
        processBuffered()
    }

    // MARK: Writing

    /// Queues bytes; closes the connection instead if more than `maxPendingWriteBytes` are already queued (the
    /// client is not reading), so memory per connection stays below that limit plus one write. Closes on failure.
    func write(_ pieces: [[UInt8]]) {
        guard lifecycle == .open else { return }
        if stream.pendingWriteBytes > configuration.maxPendingWriteBytes || !stream.write(pieces) {
            close()
        }
    }

    private func sendErrorAndClose(status: Int, message: String, type: String = "invalid_request_error") {
        guard lifecycle == .open, current == nil else { return }
        server.onServerError?(status)
        write([HTTPResponseEncoding.errorResponse(status: status, message: message, type: type)])
        gracefulClose()
    }

    // MARK: Timers

    private func updateTimer() {
        guard lifecycle == .open else { return }
        if current != nil {
            setTimer(.none)
            return
        }
        switch parser.phase {
        case .idle:
            if timerMode != .idle { setTimer(.idle) }
        case .head:
            if timerMode != .header { setTimer(.header) }
        case .body:
            setTimer(.body)  // inactivity: restarted whenever body bytes arrive
        }
    }

    private func setTimer(_ mode: TimerMode) {
        timerMode = mode
        let milliseconds: UInt64
        switch mode {
        case .none: milliseconds = 0
        case .idle: milliseconds = isFirstRequest ? configuration.headerReadTimeoutMs : configuration.idleTimeoutMs
        case .header: milliseconds = configuration.headerReadTimeoutMs
        case .body, .flush: milliseconds = configuration.idleTimeoutMs
        case .linger: milliseconds = configuration.lingerTimeoutMs
        }
        if milliseconds == 0 {
            timer.stop()
        } else {
            timer.start(after: milliseconds, repeat: 0) { self.timerFired() }
        }
    }

    private func timerFired() {
        switch timerMode {
        case .none:
            break
        case .idle, .flush, .linger:
            close()
        case .header, .body:
            sendErrorAndClose(status: 408, message: "Timed out waiting for the request.")
        }
    }

    // MARK: Closing

    /// Flushes queued writes, shuts down the write side, then discards input until EOF or the linger timeout.
    private func gracefulClose() {
        guard lifecycle == .open else { return }
        lifecycle = .draining
        setTimer(.flush)
        if !stream.isReading { stream.startReading() }
        stream.shutdown { status in
            guard self.lifecycle == .draining else { return }
            if status < 0 || self.configuration.lingerTimeoutMs == 0 {
                self.close()
            } else {
                self.setTimer(.linger)
            }
        }
    }

    /// Closes at once: queued writes are dropped, an unfinished response's `onClose` fires from the close callback.
    func close() {
        guard lifecycle != .closed else { return }
        lifecycle = .closed
        timer.close()
        if let writer = current, writer.connectionClosed() { abandoned = writer }
        current = nil
        stream.close()
    }

    private func streamClosed() {
        if lifecycle != .closed {  // closed directly by loop shutdown
            lifecycle = .closed
            timer.close()
            if let writer = current, writer.connectionClosed() { abandoned = writer }
            current = nil
        }
        let writer = abandoned
        abandoned = nil
        server.connectionDidClose(self)
        writer?.fireOnClose()
    }
}
