import LoopIO
/// Backpressure in front of the engine worker: when the worker already holds as many sequences as it accepts, new
/// requests wait here in arrival order, each for at most the queue timeout, and then get 503 with Retry-After.
/// Owned by the loop thread.
///
/// The queue starts waiting requests whenever room may have appeared: a sequence ended, the worker (re)connected
/// or went away, or an entry left the head of the queue (timed out or withdrawn). Without all of these a queue
/// whose head could not start would stay blocked for good.
final class AdmissionQueue {
    private struct Entry {
        let id: UInt64
        let sequences: Int
        let start: () -> Void
        let timer: TimerHandle
    }

    private let loop: EventLoop
    private let timeoutMilliseconds: UInt64
    /// Whether the worker accepts this many more sequences now.
    private let hasRoom: (Int) -> Bool
    private var entries: [Entry] = []
    private var nextID: UInt64 = 0

    init(loop: EventLoop, timeoutMilliseconds: UInt64, hasRoom: @escaping (Int) -> Bool) {
        self.loop = loop
        self.timeoutMilliseconds = timeoutMilliseconds
        self.hasRoom = hasRoom
    }

    var count: Int { entries.count }

    /// Runs `start` now if there is room for `sequences` and nobody is queued ahead, else queues it. `timedOut`
    /// runs instead if no room appears within the timeout. Returns a token to withdraw the request (client gone).
    @discardableResult
    func admit(sequences: Int, start: @escaping () -> Void, timedOut: @escaping () -> Void) -> UInt64? {
        if entries.isEmpty && hasRoom(sequences) {
            start()
            return nil
        }
        nextID += 1
        let id = nextID
        let timer = loop.scheduleTimer(after: timeoutMilliseconds) { [weak self] in
            guard let self, self.remove(id) else { return }
            timedOut()
            self.drain()
        }
        entries.append(Entry(id: id, sequences: sequences, start: start, timer: timer))
        return id
    }

    /// Starts queued requests, oldest first, while there is room.
    func drain() {
        while let first = entries.first, hasRoom(first.sequences) {
            entries.removeFirst()
            first.timer.cancel()
            first.start()
        }
    }

    /// Removes a queued request (its client went away).
    func withdraw(_ id: UInt64) {
        guard remove(id) else { return }
        drain()
    }

    private func remove(_ id: UInt64) -> Bool {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
        entries[index].timer.cancel()
        entries.remove(at: index)
        return true
    }
}
