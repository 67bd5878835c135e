import LoopIO

/// One connection to a worker's admin socket: splits the bytes into lines, answers each with one reply line
/// (`AdminServer.handle`), and closes when the client leaves, sends a line that is too long, or stays idle for
/// `AdminServer.idleTimeoutMilliseconds`.
///
/// It exists to keep the per-connection buffer, idle timer and close rules out of the listener. Loop thread only.
final class AdminConnection {
    private let stream: UVStream
    private let timer: TimerHandle
    private let target: any AdminTarget
    private var line: [UInt8] = []
    private let onClosed: (AdminConnection) -> Void

    init(stream: UVStream, target: some AdminTarget, onClosed: @escaping (AdminConnection) -> Void) {
        self.stream = stream
        self.target = target
        self.onClosed = onClosed
        timer = TimerHandle(loop: stream.loop, closesAfterFiring: false)
        // connection → stream → closures → connection: broken in the stream's close callback.
        stream.onRead = { bytes in self.received(bytes) }
        stream.onReadEnd = { _ in self.close() }
        stream.onWriteError = { _ in self.close() }
        stream.onClosed = {
            self.timer.close()
            self.onClosed(self)
        }
    }

    func start() {
        stream.startReading()
        armIdleTimer()
    }

    /// Sends `reply` and closes once it is written (used above the connection limit).
    func refuse(_ reply: [UInt8]) {
        stream.stopReading()
        stream.write([reply, [0x0A]])
        stream.shutdown { _ in self.close() }
    }

    func close() { stream.close() }

    private func armIdleTimer() {
        timer.start(after: AdminServer.idleTimeoutMilliseconds, repeat: 0) { [unowned self] in close() }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        armIdleTimer()
        var rest = bytes[...]
        while let newline = rest.firstIndex(of: 0x0A) {
            line += rest[rest.startIndex..<newline]
            rest = rest[(newline + 1)...]
            guard line.count <= AdminServer.maxLineBytes else { return tooLong() }
            let (reply, afterwards) = AdminServer.handle(line, target)
            line = []
            stream.write([reply, [0x0A]])
            if let afterwards {
                stream.shutdown { _ in afterwards() }
                return
            }
        }
        line += rest
        if line.count > AdminServer.maxLineBytes { tooLong() }
    }

    private func tooLong() {
        refuse(AdminServer.error("line_too_long", "a request line may be at most \(AdminServer.maxLineBytes) bytes"))
    }
}
