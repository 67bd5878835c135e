import CLibUV

/// A libuv stream handle (TCP socket or Unix pipe) with closure callbacks.
///
/// It exists so that the HTTP server's connections, its listener and `UnixStreamConnection` share one correct
/// implementation of the libuv rules: the handle lives on the heap and is freed only in its close callback, the
/// writes of one loop iteration leave as one write whose bytes sit in a block that also holds the `uv_write_t`
/// and is freed in the write callback, and closures are dropped on close so that reference cycles through them
/// end there. Loop thread only.
package final class UVStream: EventLoopResource {
    package enum Kind { case tcp, pipe }

    package let loop: EventLoop
    package let kind: Kind
    private let storage: UnsafeMutableRawPointer
    package var stream: UnsafeMutablePointer<uv_stream_t> { asStream(storage) }
    package private(set) var isClosing = false
    package private(set) var isReading = false
    package private(set) var didShutdown = false

    /// Bytes read; the buffer is only valid during the call.
    package var onRead: ((UnsafeRawBufferPointer) -> Void)?
    /// The read side ended: `UV_EOF` or a read error. Reading has stopped.
    package var onReadEnd: ((LoopIOError) -> Void)?
    /// A queued write failed (not reported for writes cancelled by `close()`).
    package var onWriteError: ((LoopIOError) -> Void)?
    /// Listener only: a connection is waiting for `accept` (or the status is an error).
    package var onConnection: ((Int32) -> Void)?
    private var onConnect: ((Int32) -> Void)?
    private var onShutdown: ((Int32) -> Void)?
    /// The close callback ran; the handle memory is gone.
    package var onClosed: (() -> Void)?

    package init(loop: EventLoop, kind: Kind) throws(LoopIOError) {
        self.loop = loop
        self.kind = kind
        let size = uv_handle_size(kind == .tcp ? UV_TCP : UV_NAMED_PIPE)
        storage = .allocate(byteCount: size, alignment: 16)
        let status: Int32
        switch kind {
        case .tcp: status = uv_tcp_init(loop.raw, storage.assumingMemoryBound(to: uv_tcp_t.self))
        case .pipe: status = uv_pipe_init(loop.raw, storage.assumingMemoryBound(to: uv_pipe_t.self), 0)
        }
        if status < 0 {
            storage.deallocate()
            throw LoopIOError(uvCode: status)
        }
        stream.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(self)
    }

    package static func from(_ stream: UnsafeMutablePointer<uv_stream_t>!) -> UVStream {
        Unmanaged<UVStream>.fromOpaque(stream.pointee.data).takeUnretainedValue()
    }

    package var tcp: UnsafeMutablePointer<uv_tcp_t> {
        precondition(kind == .tcp)
        return storage.assumingMemoryBound(to: uv_tcp_t.self)
    }

    package var pipe: UnsafeMutablePointer<uv_pipe_t> {
        precondition(kind == .pipe)
        return storage.assumingMemoryBound(to: uv_pipe_t.self)
    }

    // MARK: Reading

    package func startReading() {
        guard !isClosing, !isReading else { return }
        let status = uv_read_start(stream, { handle, _, buf in
            let loop = EventLoop.from(handle!.pointee.loop)
            buf!.pointee = uv_buf_init(loop.readBuffer.assumingMemoryBound(to: CChar.self),
                                       UInt32(EventLoop.readBufferSize))
        }, { stream, nread, buf in
            let this = UVStream.from(stream)
            if nread > 0 {
                this.onRead?(UnsafeRawBufferPointer(start: buf!.pointee.base, count: nread))
            } else if nread < 0 {
                this.isReading = false
                uv_read_stop(stream)
                this.onReadEnd?(LoopIOError(uvCode: Int32(nread)))
            }
        })
        if status < 0 {
            onReadEnd?(LoopIOError(uvCode: status))
        } else {
            isReading = true
        }
    }

    package func stopReading() {
        guard !isClosing, isReading else { return }
        uv_read_stop(stream)
        isReading = false
    }

    // MARK: Writing

    /// Bytes written since the last flush; the loop flushes them right before it next waits for I/O.
    private var unflushed: [UInt8] = []

    /// Bytes accepted by `write` that the kernel has not taken yet.
    package var pendingWriteBytes: Int { isClosing ? 0 : uv_stream_get_write_queue_size(stream) + unflushed.count }

    private static let requestSpace = (uv_req_size(UV_WRITE) + 15) & ~15

    /// Appends the concatenation of `pieces` to what this stream sends when the loop is about to wait for I/O, so
    /// that everything written to one socket during one loop iteration (the SSE chunks of several choices, a final
    /// event and `[DONE]`, frames to the worker) leaves in one `uv_write`. Returns false on a closed or shut-down
    /// stream; a failure of the write itself is reported through `onWriteError`.
    @discardableResult
    package func write(_ pieces: [[UInt8]]) -> Bool {
        guard !isClosing, !didShutdown else { return false }
        let wasEmpty = unflushed.isEmpty
        for piece in pieces { unflushed += piece }
        if wasEmpty && !unflushed.isEmpty { loop.flushBeforePolling(self) }
        return true
    }

    /// Hands the unflushed bytes to libuv as one write (they are copied into a block that also holds the
    /// `uv_write_t` and is freed in the write callback). Called by the loop, and before a shutdown.
    package func flush() {
        guard !isClosing, !unflushed.isEmpty else { return }
        let total = unflushed.count
        let block = UnsafeMutableRawPointer.allocate(byteCount: UVStream.requestSpace + total, alignment: 16)
        let bytes = block + UVStream.requestSpace
        unflushed.withUnsafeBytes { (bytes).copyMemory(from: $0.baseAddress!, byteCount: total) }
        unflushed.removeAll(keepingCapacity: true)
        let req = block.assumingMemoryBound(to: uv_write_t.self)
        req.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var buf = uv_buf_init(bytes.assumingMemoryBound(to: CChar.self), UInt32(total))
        let status = uv_write(req, stream, &buf, 1) { req, status in
            // A stream owner stays registered until its close callback, which libuv runs after cancelling writes.
            if status < 0 && status != uvECANCELED {
                let this = Unmanaged<UVStream>.fromOpaque(req!.pointee.data).takeUnretainedValue()
                if !this.isClosing { this.onWriteError?(LoopIOError(uvCode: status)) }
            }
            UnsafeMutableRawPointer(req!).deallocate()
        }
        loop.writesIssued += 1
        if status < 0 {
            block.deallocate()
            onWriteError?(LoopIOError(uvCode: status))
        }
    }

    /// Half-closes the write side once queued writes are flushed; `completion` gets the libuv status.
    package func shutdown(_ completion: @escaping (Int32) -> Void) {
        guard !isClosing, !didShutdown else { completion(uvENOTCONN); return }
        flush()
        didShutdown = true
        onShutdown = completion
        let req = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let status = uv_shutdown(req, stream) { req, status in
            let this = Unmanaged<UVStream>.fromOpaque(req!.pointee.data).takeUnretainedValue()
            req!.deallocate()
            let completion = this.onShutdown
            this.onShutdown = nil
            completion?(status)
        }
        if status < 0 {
            req.deallocate()
            onShutdown = nil
            completion(status)
        }
    }

    // MARK: Connecting and listening

    /// Pipe only: connects to a Unix socket path; `completion` gets the libuv status (ECANCELED if closed first).
    package func connectPipe(path: String, _ completion: @escaping (Int32) -> Void) {
        onConnect = completion
        let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_pipe_connect(req, pipe, path) { req, status in
            let this = Unmanaged<UVStream>.fromOpaque(req!.pointee.data).takeUnretainedValue()
            req!.deallocate()
            let completion = this.onConnect
            this.onConnect = nil
            completion?(status)
        }
    }

    /// Listener only: accepts the waiting connection as a new stream of the same kind (nil if libuv refuses).
    package func acceptConnection() -> UVStream? {
        guard !isClosing, let connection = try? UVStream(loop: loop, kind: kind) else { return nil }
        if uv_accept(stream, connection.stream) < 0 {
            connection.close()
            return nil
        }
        return connection
    }

    package func listen(backlog: Int32) throws(LoopIOError) {
        try uvCheck(uv_listen(stream, backlog) { server, status in
            UVStream.from(server).onConnection?(status)
        })
    }

    // MARK: Closing

    /// Closes the handle (pending and unflushed writes are dropped); `onClosed` runs from the close callback.
    /// Idempotent.
    package func close() {
        guard !isClosing else { return }
        isClosing = true
        unflushed = []
        isReading = false
        uv_close(asHandle(stream)) { handle in
            let this = Unmanaged<UVStream>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            let closed = this.onClosed
            this.onRead = nil
            this.onReadEnd = nil
            this.onWriteError = nil
            this.onConnection = nil
            this.onClosed = nil
            this.storage.deallocate()
            this.loop.unregister(this)
            closed?()
        }
    }

    package func closeForShutdown() { close() }
}
