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
}
