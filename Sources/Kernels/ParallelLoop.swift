/// Runs independent iterations on the cores this process owns. Used for work between GEMMs (attention over many
/// sequences, fp8 decode) that would otherwise run on one core while OpenBLAS uses them all. The body receives
/// raw pointers captured from the caller: callers guarantee that iterations touch disjoint outputs and only read
/// shared inputs.
public enum ParallelLoop {
    /// Calls `body(i)` for `i` in `0..<count` on up to `threads` threads (by default as many as OpenBLAS was
    /// given, which is the cores the process owns), returning when all have returned.
    public static func run(_ count: Int, threads: Int = Gemm.threadCount, _ body: (Int) -> Void) {
        SpinningThreadPool.shared.run(count, threads: threads, body)
    }

    /// Splits `0..<count` rows into one contiguous range per thread (fewer when a range would hold under
    /// `minimumPerRange` rows, so that tiny layers stay on the calling thread) and calls `body` on each: the
    /// split of a linear layer's weight rows across cores.
    public static func forEachRange(of count: Int, minimumPerRange: Int = 64, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(Gemm.threadCount, count / minimumPerRange))
        run(parts) { part in body((count * part / parts)..<(count * (part + 1) / parts)) }
    }
}
