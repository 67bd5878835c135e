import Foundation
import ProcessGroup
import XCTest

/// The test process is rank 0, a spawned `scalellm-shm-probe` is rank 1.
final class MultiProcessTests: XCTestCase {
    private func configuration(_ group: String) -> ProcessGroup.Configuration {
        .init(group: group, rank: 0, size: 2, allReduceCapacity: 4096, planCapacity: 4096,
              connectTimeout: .seconds(30), operationTimeout: .seconds(30))
    }

    /// One all-reduce of `ProbeData` for `iteration`, checked.
    private func step(_ processGroup: ProcessGroup, iteration: Int, count: Int) throws {
        var buffer = (0..<count).map { ProbeData.value(rank: 0, iteration: iteration, index: $0) }
        try processGroup.allReduceSum(&buffer)
        for i in 0..<count {
            let expected = ProbeData.value(rank: 0, iteration: iteration, index: i) + ProbeData.value(rank: 1, iteration: iteration, index: i)
            if buffer[i] != expected { throw Mismatch(text: "iteration \(iteration) element \(i): \(buffer[i]) != \(expected)") }
        }
    }

    func testPlansAndAllReducesWithAnotherProcess() throws {
        let group = uniqueGroup("procs")
        let probe = try ProbeProcess(["peer", "--group", group, "--rank", "1", "--size", "2", "--capacity", "4096",
                                      "--count", "577", "--iterations", "40", "--plans", "5"])
        let processGroup = try ProcessGroup(configuration(group))
        for number in 0..<5 { try processGroup.publishPlan(ProbeData.plan(number)) }
        for iteration in 0..<40 { try step(processGroup, iteration: iteration, count: 577) }
        XCTAssertEqual(try probe.wait(), 0, "the probe checks its plans and sums (exit 3 or 4 otherwise)")
        XCTAssertEqual(processGroup.heartbeat(of: 1).pid, probe.pid)
        processGroup.close()
        XCTAssertFalse(SharedMemorySegment.exists(name: try SharedMemorySegment.name(group: group)))
    }

    func testKilledPeerIsReportedAsDead() throws {
        let group = uniqueGroup("kill")
        let name = try SharedMemorySegment.name(group: group)
        let probe = try ProbeProcess(["peer", "--group", group, "--rank", "1", "--size", "2", "--capacity", "4096",
                                      "--count", "1000", "--iterations", "0"])
        let processGroup = try ProcessGroup(configuration(group))
        for iteration in 0..<20 { try step(processGroup, iteration: iteration, count: 1000) }

        XCTAssertEqual(kill(probe.pid, SIGKILL), 0)
        let start = ContinuousClock.now
        var failure: Error?
        for iteration in 20..<100_000 {
            do { try step(processGroup, iteration: iteration, count: 1000) } catch { failure = error; break }
        }
        let waited = seconds(since: start)
        XCTAssertEqual(failure as? ProcessGroupError, .peerDied(rank: 1))
        XCTAssertLessThan(waited, 5, "death must be noticed long before the 30 s operation timeout")

        let status = try probe.wait()
        XCTAssertEqual(status & 0x7F, SIGKILL, "the probe was killed mid-loop, not finished")
        XCTAssertTrue(SharedMemorySegment.exists(name: name))
        processGroup.close()
        XCTAssertFalse(SharedMemorySegment.exists(name: name))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/shm" + name))
    }

    func testKilledRankZeroIsReportedAndItsSegmentCleanedUp() throws {
        let group = uniqueGroup("kill0")
        let name = try SharedMemorySegment.name(group: group)
        let probe = try ProbeProcess(["peer", "--group", group, "--rank", "0", "--size", "2", "--capacity", "4096",
                                      "--count", "64", "--iterations", "0"])
        var configuration = configuration(group)
        configuration.rank = 1
        let processGroup = try ProcessGroup(configuration)
        XCTAssertEqual(processGroup.segment.creatorPID, probe.pid)
        for iteration in 0..<10 {
            var buffer = (0..<64).map { ProbeData.value(rank: 1, iteration: iteration, index: $0) }
            try processGroup.allReduceSum(&buffer)
        }
        XCTAssertEqual(kill(probe.pid, SIGKILL), 0)
        let start = ContinuousClock.now
        var failure: Error?
        for _ in 0..<100_000 {
            var buffer = [Float](repeating: 0, count: 64)
            do { try processGroup.allReduceSum(&buffer) } catch { failure = error; break }
        }
        XCTAssertEqual(failure as? ProcessGroupError, .peerDied(rank: 0))
        XCTAssertLessThan(seconds(since: start), 5)
        XCTAssertTrue(SharedMemorySegment.exists(name: name))
        processGroup.close()
        XCTAssertFalse(SharedMemorySegment.exists(name: name), "the surviving rank unlinks the dead creator's segment")
        _ = try probe.wait()
        XCTAssertEqual(SharedMemorySegment.removeStale(prefix: name), [], "nothing left for the next start to clean")
    }
}
