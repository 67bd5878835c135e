/// A client connection to a Unix domain stream socket (libuv `uv_pipe_t`).
///
/// It exists so that the gateway can talk to engine-worker processes over local sockets on the same event loop as
/// the HTTP server. It only moves bytes: message framing belongs to the caller. Loop thread only.
///
/// Set `onRead` and `onClose` before `connect`. `onClose` fires exactly once if the connection was established and
/// later closes: with nil after a local `close()`, `.closed` when the loop shut down, otherwise with the error
/// (`isEndOfFile` when the peer closed).
/// A failed connect reports only through its completion.
public final class UnixStreamConnection {
    private enum State { case idle, connecting, connected, closed }
    private var state = State.idle
    private var stream: UVStream?
    private var closeReason: LoopIOError?
    private var pendingOnClose = false

    /// Bytes received, in order; the array is the caller's to keep.
    public var onRead: (([UInt8]) -> Void)?
    /// The established connection closed (see type documentation).
    public var onClose: ((LoopIOError?) -> Void)?

    public init() {}

    /// True between a successful connect and close.
    public var isConnected: Bool { state == .connected }

    /// Bytes written but not yet taken by the kernel (for the caller's own backpressure).
    public var pendingWriteBytes: Int { stream?.pendingWriteBytes ?? 0 }

    /// Connects to the socket at `path`. `completion` runs on the loop thread: from libuv's connect callback, or
    /// synchronously if the handle cannot be created or this connection was already used.
    public func connect(path: String, on loop: EventLoop,
                        completion: @escaping (Result<Void, LoopIOError>) -> Void) {
        loop.assertOnLoopThread()
        guard state == .idle, !loop.isShuttingDown else {
            completion(.failure(.closed))
            return
        }
        let stream: UVStream
        do {
            stream = try UVStream(loop: loop, kind: .pipe)
        } catch {
            state = .closed
            completion(.failure(error))
            return
        }
        self.stream = stream
        state = .connecting
        // Cycle connection → stream → closures → connection, broken in the stream's close callback: an open
        // connection stays alive even if the caller drops its reference.
        stream.onRead = { bytes in self.onRead?(Array(bytes)) }
        stream.onReadEnd = { error in self.closeWith(error) }
        stream.onWriteError = { error in self.closeWith(error) }
        stream.onClosed = { self.streamClosed() }
        stream.connectPipe(path: path) { status in
            if status < 0 {
                if self.state == .connecting { self.state = .closed }
                stream.close()
                completion(.failure(LoopIOError(uvCode: status)))
                return
            }
            guard self.state == .connecting else {  // closed while connecting
                completion(.failure(.closed))
                return
            }
            self.state = .connected
            stream.startReading()
            completion(.success(()))
        }
    }

    /// Queues `bytes` (copied) for writing. Returns false if not connected or libuv refused the write; a later
    /// write failure closes the connection and is reported through `onClose`.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        guard state == .connected, let stream else { return false }
        if stream.write([bytes]) { return true }
        return false
    }

    /// Closes the connection (queued writes are dropped). `onClose(nil)` follows if it was connected. Idempotent.
    public func close() {
        closeWith(nil)
    }

    private func closeWith(_ reason: LoopIOError?) {
        switch state {
        case .idle, .closed:
            return
        case .connecting:
            state = .closed
            stream?.close()  // the connect callback reports ECANCELED
        case .connected:
            state = .closed
            closeReason = reason
            pendingOnClose = true
            stream?.onRead = nil  // no reads are delivered after close()
            stream?.close()
        }
    }

    private func streamClosed() {
        stream = nil
        if state == .connected {  // closed by the loop's shutdown
            state = .closed
            closeReason = .closed
            pendingOnClose = true
        }
        let callback = pendingOnClose ? onClose : nil
        pendingOnClose = false
        onRead = nil
        onClose = nil
        callback?(closeReason)
    }
}
