import Synchronization
import XCTest
@testable import Kernels

/// `ParallelLoop` over the spinning helper threads: every iteration runs exactly once and has returned when
/// `run` returns — across many back-to-back sections (the helpers alternate between polling and sleeping),
/// sections of every size, and a section started from a second thread while one is running.
final class ParallelLoopTests: XCTestCase {
    func testEveryIterationRunsOnceInManyBackToBackSections() {
        var counts = [Int](repeating: 0, count: 64)
        for section in 0..<5_000 {
            let count = section % 65
            counts.withUnsafeMutableBufferPointer { counts in
                ParallelLoop.run(count, threads: 2) { counts[$0] += 1 }
            }
            for i in 0..<64 {
                XCTAssertEqual(counts[i], i < count ? 1 : 0, "section \(section), iteration \(i)")
                counts[i] = 0
            }
        }
    }

    func testSectionsStillRunAfterTheHelpersSlept() {
        for round in 0..<3 {
            // Long enough for the helper to exhaust its polls and sleep on the condition.
            for _ in 0..<(SpinningThreadPool.pollsBeforeSleeping * 10) { sched_yield() }
            let sum = Atomic<Int>(0)
            ParallelLoop.run(100, threads: 2) { sum.add($0, ordering: .relaxed) }
            XCTAssertEqual(sum.load(ordering: .relaxed), 4_950, "round \(round)")
        }
    }

    func testASectionFromAnotherThreadDuringOneRunsSerially() {
        let inner = Atomic<Int>(0)
        ParallelLoop.run(2, threads: 2) { _ in
            // Both iterations start a section while the outer one holds the helpers: each runs on its caller.
            ParallelLoop.run(10, threads: 2) { inner.add($0, ordering: .relaxed) }
        }
        XCTAssertEqual(inner.load(ordering: .relaxed), 2 * 45)
    }
}
