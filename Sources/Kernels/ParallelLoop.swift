import Dispatch

/// Runs independent iterations on all cores. Used for work between GEMMs (attention over many sequences) that
/// would otherwise run on one core while OpenBLAS uses them all. The body receives raw pointers captured from the
/// caller, so it is unchecked-Sendable: callers guarantee that iterations touch disjoint outputs and only read
/// shared inputs.
public enum ParallelLoop {
    /// Calls `body(i)` for `i` in `0..<count`, concurrently when `count > 1`.
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }

    private struct UncheckedBox<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }
}
