import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs independent iterations on the cores this process owns: every kernel's split of work across cores (linear
/// layers by rows, attention over sequences, sampling). The body receives raw pointers captured from the caller:
/// callers guarantee that iterations touch disjoint outputs and only read shared inputs.
public enum ParallelLoop {
    /// How many threads kernels use: every online core unless `setThreadCount` says otherwise (a worker gives it
    /// the cores it is pinned to).
    public static var threadCount: Int { threads.load(ordering: .relaxed) }

    public static func setThreadCount(_ count: Int) { threads.store(max(1, count), ordering: .relaxed) }

    private static let threads = Atomic<Int>(max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Calls `body(i)` for `i` in `0..<count` on up to `threads` threads (by default `threadCount`), returning
    /// when all have returned.
    public static func run(_ count: Int, threads: Int = ParallelLoop.threadCount, _ body: (Int) -> Void) {
        SpinningThreadPool.shared.run(count, threads: threads, body)
    }

    /// Splits `0..<count` rows into one contiguous range per thread (fewer when a range would hold under
    /// `minimumPerRange` rows, so that tiny layers stay on the calling thread) and calls `body` on each: the
    /// split of a linear layer's weight rows across cores.
    public static func forEachRange(of count: Int, minimumPerRange: Int = 64, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threadCount, count / minimumPerRange))
        run(parts) { part in body((count * part / parts)..<(count * (part + 1) / parts)) }
    }
}
