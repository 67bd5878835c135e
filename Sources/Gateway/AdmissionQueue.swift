/// Backpressure in front of the engine worker: when the worker already holds as many sequences as it accepts, new
/// requests wait here in arrival order, each for at most the queue timeout, and then get 503 with Retry-After.
/// Owned by the loop thread.
final class AdmissionQueue {
    private struct Entry {
        let id: UInt64
        let sequences: Int
        let start: () -> Void
        let timer: TimerHandle
    }

    private let loop: EventLoop
    private let timeoutMilliseconds: UInt64
    private var entries: [Entry] = []
    private var nextID: UInt64 = 0

    init(loop: EventLoop, timeoutMilliseconds: UInt64) {
        self.loop = loop
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    var count: Int { entries.count }

    /// Runs `start` now if `hasRoom(sequences)` and nobody is queued ahead, else queues it. `timedOut` runs instead
    /// if no room appears within the timeout. Returns a token to withdraw the request (client gone).
    @discardableResult
    func admit(sequences: Int, hasRoom: (Int) -> Bool, start: @escaping () -> Void, timedOut: @escaping () -> Void) -> UInt64? {
        if entries.isEmpty && hasRoom(sequences) {
            start()
            return nil
        }
        nextID += 1
        let id = nextID
        let timer = loop.scheduleTimer(after: timeoutMilliseconds) { [weak self] in
            guard let self, let index = self.entries.firstIndex(where: { $0.id == id }) else { return }
            self.entries.remove(at: index)
            timedOut()
        }
        entries.append(Entry(id: id, sequences: sequences, start: start, timer: timer))
        return id
    }

    /// Starts queued requests, oldest first, while there is room.
    func drain(hasRoom: (Int) -> Bool) {
        while let first = entries.first, hasRoom(first.sequences) {
            entries.removeFirst()
            first.timer.cancel()
            first.start()
        }
    }

    /// Removes a queued request (its client went away).
    func withdraw(_ id: UInt64) {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return }
        entries[index].timer.cancel()
        entries.remove(at: index)
    }
}
