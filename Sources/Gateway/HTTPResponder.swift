/// The way a handler answers one request; the server gives each request its own responder.
///
/// It exists so that handlers can answer either at once (`respond`) or incrementally (`startStream`,
/// `sendChunk`, `endStream` — chunked transfer encoding, used for Server-Sent Events) and can learn when the client
/// went away (`onClose`) to cancel generation. All members are loop-thread only.
///
/// Rules: exactly one of `respond` or `startStream`…`endStream` per request; calls out of order, and every call
/// after the response finished or the connection closed, are ignored. The server sets `Content-Length`,
/// `Transfer-Encoding` and `Connection` itself and drops those names (and any header containing CR or LF) from
/// `headers`. The next pipelined request on the connection is handled only after this response finishes.
public protocol HTTPResponder: AnyObject {
    /// Sends a complete response with `Content-Length: body.count`.
    func respond(status: Int, headers: [(String, String)], body: [UInt8])
    /// Sends the status and headers of a streamed response (chunked for HTTP/1.1 clients; for HTTP/1.0 clients the
    /// body is delimited by closing the connection). For SSE pass `Content-Type: text/event-stream`.
    func startStream(status: Int, headers: [(String, String)])
    /// Sends one chunk (one write). Empty chunks are ignored (an empty chunk would end the stream).
    func sendChunk(_ bytes: [UInt8])
    /// Sends the terminating chunk; the response is complete.
    func endStream()
    /// True once nothing more can be sent: the response finished, or the connection closed.
    var isClosed: Bool { get }
    /// Called once, on the loop thread from the connection's close callback, if the connection closes before the
    /// response finished (client disconnected, write error, backpressure limit, server shutdown). Never called
    /// synchronously from inside another responder call.
    var onClose: (() -> Void)? { get set }
}

/// Handles one complete request on the loop thread; must eventually answer through the responder.
public typealias HTTPHandler = (HTTPRequest, HTTPResponder) -> Void
