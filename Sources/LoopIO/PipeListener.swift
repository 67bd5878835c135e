import CLibUV

/// A listening Unix domain socket on the loop, handing each accepted connection over as a `UVStream`.
///
/// It exists so that the engine worker accepts gateway and admin connections as loop handles instead of polling
/// `accept` on threads. The socket is bound elsewhere (`UnixSocketListener` owns the path: stale-file removal,
/// mode 0600, unlinking) and adopted here by descriptor. Loop thread only.
public final class PipeListener {
    private let stream: UVStream

    /// Adopts the bound, listening descriptor `descriptor` (closed with the listener) and calls `onAccept` with
    /// each new connection, not yet reading.
    package init(loop: EventLoop, descriptor: Int32, backlog: Int32, onAccept: @escaping (UVStream) -> Void) throws(LoopIOError) {
        stream = try UVStream(loop: loop, kind: .pipe)
        do {
            try uvCheck(uv_pipe_open(stream.pipe, descriptor))
            stream.onConnection = { [stream] status in
                guard status >= 0, let connection = stream.acceptConnection() else { return }
                onAccept(connection)
            }
            try stream.listen(backlog: backlog)
        } catch {
            stream.close()
            throw error
        }
    }

    /// Stops listening (the descriptor is closed). Idempotent.
    public func close() { stream.close() }
}
