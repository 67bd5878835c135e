import TestSupport
import Dispatch
import Foundation
import ProcessGroup
import Synchronization
import XCTest

/// Runs `body(rank)` for every rank on its own thread (real threads: ranks block on each other, so a thread pool
/// with fewer threads than ranks could deadlock) and returns each rank's error, nil for success. Fails the test if
/// a rank has not finished by `timeout` (a hang is a bug: every wait in ProcessGroup has a deadline).
func runRanks(_ size: Int, timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line,
              _ body: @escaping @Sendable (Int) throws -> Void) -> [Error?] {
    let errors = Mutex<[Int: any Error]>([:])
    let finished = DispatchSemaphore(value: 0)
    for rank in 0..<size {
        let thread = Thread {
            do { try body(rank) } catch { errors.withLock { $0[rank] = error } }
            finished.signal()
        }
        thread.name = "rank \(rank)"
        thread.start()
    }
    let deadline = DispatchTime.now() + timeout
    for _ in 0..<size where finished.wait(timeout: deadline) == .timedOut {
        XCTFail("a rank did not finish within \(timeout) s", file: file, line: line)
        break
    }
    return errors.withLock { found in (0..<size).map { found[$0] } }
}

/// Asserts that no rank failed.
func assertNoErrors(_ errors: [Error?], file: StaticString = #filePath, line: UInt = #line) {
    for (rank, error) in errors.enumerated() {
        if let error { XCTFail("rank \(rank): \(error)", file: file, line: line) }
    }
}

/// A group name no other test (or concurrent test run) uses.
func uniqueGroup(_ label: String) -> String {
    let number = groupCounter.add(1, ordering: .relaxed).newValue
    return "test\(getpid())-\(label)-\(number)"
}

private let groupCounter = Atomic<Int>(0)

/// Integer-valued floats in -1000…1000 for `rank`'s `call`-th all-reduce: sums of a few are exact.
func testVector(rank: Int, call: Int, count: Int, seed: UInt64) -> [Float] {
    var random = TestRandom(seed: seed ^ UInt64(rank) << 40 ^ UInt64(call) << 20 ^ UInt64(count))
    return (0..<count).map { _ in Float(Int(random.next() % 2001) - 1000) }
}

/// Elapsed seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let (s, atto) = (ContinuousClock.now - start).components
    return Double(s) + Double(atto) * 1e-18
}
