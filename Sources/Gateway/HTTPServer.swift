import LoopIO
import CLibUV

/// An HTTP/1.1 server on one `EventLoop`.
///
/// It exists to turn TCP connections into complete `HTTPRequest`s for the OpenAI API layer and to carry its
/// responses back — including chunked streams for Server-Sent Events — while protecting the process from slow or
/// misbehaving clients. Loop thread only (or before `EventLoop.run()` starts).
///
/// Behaviour:
/// - Keep-alive (HTTP/1.1 default; HTTP/1.0 only with `Connection: keep-alive`); pipelined requests are handled one
///   at a time, in order. `Expect: 100-continue` is answered with `100 Continue`.
/// - Malformed or over-limit requests get an OpenAI-style JSON error (400, 408, 413, 414, 431, 501, 505) with
///   `Connection: close`, sent by the server without calling the handler.
/// - Timeouts: a new connection must send a complete header section within `headerReadTimeoutMs`; later requests
///   must start within `idleTimeoutMs` of the previous response and finish their headers within
///   `headerReadTimeoutMs`; a body may pause at most `idleTimeoutMs`. Expired reads get 408 (silent close if no
///   request had started). No timeout runs while the handler owns the request: a handler that never answers keeps
///   the connection open until the client leaves.
/// - `maxConnections`: beyond it, a new connection is accepted, answered `503` (type `server_error`) and closed;
///   beyond twice the limit it is closed without a response.
/// - Backpressure: writes are queued in libuv without blocking the loop. If a write is attempted while more than
///   `maxPendingWriteBytes` are still queued because the client does not read, the connection is closed instead
///   (the responder's `onClose` fires). A single large `respond` body is therefore always accepted.
/// - A client EOF is treated as the client going away: the connection closes, an unfinished response's `onClose`
///   fires (half-closed clients that still expect a response are not supported).
public final class HTTPServer {
    /// Server settings. Timeouts are in milliseconds; 0 disables a timeout.
    public struct Configuration: Sendable {
        /// IPv4 or IPv6 literal ("127.0.0.1", "0.0.0.0", "::1", "[::]").
        public var host: String = "127.0.0.1"
        /// 0 picks an ephemeral port; read it back from `boundPort`.
        public var port: Int = 0
        public var backlog: Int32 = 511
        public var maxRequestLineBytes: Int = 8 * 1024
        public var maxHeaderBytes: Int = 16 * 1024
        public var maxHeaderCount: Int = 256
        public var maxBodyBytes: Int = 1024 * 1024
        public var maxConnections: Int = 1024
        public var idleTimeoutMs: UInt64 = 60_000
        public var headerReadTimeoutMs: UInt64 = 10_000
        /// After a `Connection: close` response: how long to keep discarding input before closing.
        public var lingerTimeoutMs: UInt64 = 2_000
        public var maxPendingWriteBytes: Int = 8 * 1024 * 1024

        public init(host: String = "127.0.0.1", port: Int = 0) {
            self.host = host
            self.port = port
        }
    }

    public let loop: EventLoop
    public let configuration: Configuration
    let handler: HTTPHandler
    /// Told the status of every error response the server sends itself, without a handler (malformed or
    /// over-limit requests, timeouts, the connection limit), so that metrics count them too.
    public var onServerError: ((Int) -> Void)?
    private var listener: UVStream?
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    private var rejected: [ObjectIdentifier: HTTPConnection] = [:]
    private(set) var isClosing = false

    /// The port actually bound (meaningful after `start()`).
    public private(set) var boundPort: Int = 0

    public init(loop: EventLoop, configuration: Configuration = Configuration(), handler: @escaping HTTPHandler) {
        self.loop = loop
        self.configuration = configuration
        self.handler = handler
    }

    /// Open connections that are serving requests (rejected ones excluded).
    public var connectionCount: Int { connections.count }

    /// Binds, listens and sets `boundPort`.
    public func start() throws(LoopIOError) {
        loop.assertOnLoopThread()
        guard listener == nil, !isClosing, !loop.isShuttingDown else { throw .closed }
        var storage = sockaddr_storage()
        try HTTPServer.makeAddress(host: configuration.host, port: configuration.port, into: &storage)
        let listener = try UVStream(loop: loop, kind: .tcp)
        do {
            try withUnsafePointer(to: &storage) { (pointer) throws(LoopIOError) in
                try uvCheck(uv_tcp_bind(listener.tcp, UnsafeRawPointer(pointer).assumingMemoryBound(to: sockaddr.self), 0))
            }
            listener.onConnection = { status in self.accept(status) }
            try listener.listen(backlog: configuration.backlog)
            var bound = sockaddr_storage()
            var length = Int32(MemoryLayout<sockaddr_storage>.size)
            try withUnsafeMutablePointer(to: &bound) { (pointer) throws(LoopIOError) in
                try uvCheck(uv_tcp_getsockname(listener.tcp,
                                               UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: sockaddr.self),
                                               &length))
            }
            boundPort = HTTPServer.port(of: bound)
        } catch {
            listener.close()
            throw error
        }
        self.listener = listener
    }

    /// Connections answering a request now (what a graceful stop waits for).
    public var respondingConnectionCount: Int { connections.values.filter(\.isResponding).count }

    /// Stops listening; open connections go on (a graceful stop lets their requests finish). Idempotent.
    public func stopAccepting() {
        loop.assertOnLoopThread()
        listener?.close()
        listener = nil
    }

    /// Stops listening and closes every connection at once (unfinished responses get `onClose`).
    public func close() {
        loop.assertOnLoopThread()
        guard !isClosing else { return }
        isClosing = true
        listener?.close()
        listener = nil
        for connection in Array(connections.values) + Array(rejected.values) { connection.close() }
    }

    private func accept(_ status: Int32) {
        guard status >= 0, !isClosing, let listener, let stream = listener.acceptConnection() else { return }
        _ = uv_tcp_nodelay(stream.tcp, 1)
        let connection = HTTPConnection(server: self, stream: stream)
        if connections.count < configuration.maxConnections {
            connections[ObjectIdentifier(connection)] = connection
            connection.start()
        } else if rejected.count < configuration.maxConnections {
            rejected[ObjectIdentifier(connection)] = connection
            connection.reject()
        } else {
            rejected[ObjectIdentifier(connection)] = connection
            connection.close()
        }
    }

    func connectionDidClose(_ connection: HTTPConnection) {
        connections.removeValue(forKey: ObjectIdentifier(connection))
        rejected.removeValue(forKey: ObjectIdentifier(connection))
    }

    // MARK: Addresses

    static func makeAddress(host: String, port: Int, into storage: inout sockaddr_storage) throws(LoopIOError) {
        var literal = host
        if literal.hasPrefix("[") && literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        guard (0...65535).contains(port) else { throw .invalidAddress("\(host):\(port)") }
        let ok = withUnsafeMutablePointer(to: &storage) { pointer -> Bool in
            let raw = UnsafeMutableRawPointer(pointer)
            if !literal.contains(":") {
                return uv_ip4_addr(literal, Int32(port), raw.assumingMemoryBound(to: sockaddr_in.self)) == 0
            }
            return uv_ip6_addr(literal, Int32(port), raw.assumingMemoryBound(to: sockaddr_in6.self)) == 0
        }
        if !ok { throw .invalidAddress(host) }
    }

    static func port(of storage: sockaddr_storage) -> Int {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer -> Int in
            let raw = UnsafeRawPointer(pointer)
            if Int32(storage.ss_family) == AF_INET6 {
                return Int(UInt16(bigEndian: raw.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port))
            }
            return Int(UInt16(bigEndian: raw.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port))
        }
    }
}
