/// The server's `HTTPResponder` for one request on one connection.
///
/// It exists separately from the connection so that a handler holding on to an old responder cannot write into a
/// later response on the same keep-alive connection: once this response finishes (or the connection closes) the
/// writer lets go of the connection and every call becomes a no-op.
final class HTTPResponseWriter: HTTPResponder {
    private enum State { case initial, streaming, finished, closed }
    private var state = State.initial
    private var connection: HTTPConnection?
    private let isHead: Bool
    private let version: HTTPVersion
    private var framing = HTTPResponseEncoding.Framing.noBody
    var onClose: (() -> Void)?

    init(connection: HTTPConnection, request: HTTPRequest) {
        self.connection = connection
        self.isHead = request.method == "HEAD"
        self.version = request.version
    }

    var isClosed: Bool { state == .finished || state == .closed }

    func respond(status: Int, headers: [(String, String)], body: [UInt8]) {
        guard state == .initial, let connection else { return }
        let noBody = HTTPResponseEncoding.statusHasNoBody(status)
        let head = HTTPResponseEncoding.head(status: status, headers: headers,
                                             framing: noBody ? .noBody : .contentLength(body.count),
                                             keepAlive: !connection.closesAfterResponse)
        finish()
        connection.write((isHead || noBody) ? [head] : [head, body])
        connection.responseFinished()
    }

    func startStream(status: Int, headers: [(String, String)]) {
        guard state == .initial, let connection else { return }
        if HTTPResponseEncoding.statusHasNoBody(status) {
            framing = .noBody
        } else if version == .http1_0 {
            framing = .closeDelimited
            connection.responseIsCloseDelimited()
        } else {
            framing = .chunked
        }
        let head = HTTPResponseEncoding.head(status: status, headers: headers, framing: framing,
                                             keepAlive: !connection.closesAfterResponse)
        state = .streaming
        connection.write([head])
    }

    func sendChunk(_ bytes: [UInt8]) {
        guard state == .streaming, let connection, !bytes.isEmpty, !isHead else { return }
        switch framing {
        case .chunked:
            connection.write([HTTPResponseEncoding.chunkPrefix(bytes.count), bytes, HTTPResponseEncoding.crlf])
        case .closeDelimited:
            connection.write([bytes])
        case .contentLength, .noBody:
            break
        }
    }

    func endStream() {
        guard state == .streaming, let connection else { return }
        finish()
        if case .chunked = framing, !isHead { connection.write([HTTPResponseEncoding.lastChunk]) }
        connection.responseFinished()
    }

    /// The response is complete: lets go of the connection and of `onClose`, which usually captures the handler's
    /// state (a generation exchange that itself holds this responder — a cycle until the callback is dropped).
    private func finish() {
        state = .finished
        connection = nil
        onClose = nil
    }

    /// The connection is closing: nothing more can be sent, and an unfinished response is cut short.
    func connectionClosed() {
        connection = nil
        if state == .initial || state == .streaming { state = .closed }
    }

    /// From the connection's close callback: tells the handler, if its response was cut short.
    func fireOnClose() {
        guard state == .closed else { return }
        let callback = onClose
        onClose = nil
        callback?()
    }
}
