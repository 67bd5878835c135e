extension EventLoop {
    /// A graceful stop's wait, the same in both processes: checks `remaining()` every 50 ms and calls `done` once —
    /// with 0 as soon as nothing remains, or with what remains when `milliseconds` have passed. Loop thread only.
    public func waitForDrain(within milliseconds: UInt64, remaining: @escaping () -> Int, done: @escaping (Int) -> Void) {
        let deadline = monotonicSeconds() + Double(milliseconds) / 1000
        var timer: TimerHandle?
        timer = scheduleTimer(after: 0, repeat: 50) {
            let left = remaining()
            guard left == 0 || monotonicSeconds() >= deadline else { return }
            timer?.cancel()
            timer = nil
            done(left)
        }
    }
}
