import Dispatch
import Foundation
import Synchronization
import ProcessGroup
import XCTest

/// Waits end with errors naming the culprit rank, within their deadlines, and every rank learns the same error.
final class PeerFailureTests: XCTestCase {
    func testBarrierTimesOutWhenPeerNeverArrives() {
        let group = uniqueGroup("timeout")
        let rank0Failed = DispatchSemaphore(value: 0)
        let elapsed = Mutex<Double>(0), cpu = Mutex<Double>(0)
        let errors = runRanks(2) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: 16,
                                                      operationTimeout: .milliseconds(300)))
            defer { processGroup.close() }
            if rank == 0 {
                let start = ContinuousClock.now, startCPU = threadCPUSeconds()
                defer {
                    elapsed.withLock { $0 = seconds(since: start) }
                    cpu.withLock { $0 = threadCPUSeconds() - startCPU }
                    rank0Failed.signal()
                }
                try processGroup.synchronize()
            } else {
                // Stays away until rank 0 has given up, then finds the group failed with rank 0's error.
                guard rank0Failed.wait(timeout: .now() + 60) == .success else { throw Mismatch(text: "rank 0 hung") }
                try processGroup.synchronize()
            }
        }
        XCTAssertEqual(errors[0] as? ProcessGroupError, .timedOut(rank: 1))
        XCTAssertEqual(errors[1] as? ProcessGroupError, .timedOut(rank: 1))
        let waited = elapsed.withLock { $0 }
        XCTAssertGreaterThanOrEqual(waited, 0.3)
        XCTAssertLessThan(waited, 3, "the barrier must give up at its deadline")
        XCTAssertLessThan(cpu.withLock { $0 }, 0.15, "a waiting rank sleeps in the futex instead of spinning")
    }

    /// A follower waits for the next plan up to `planTimeout`, however far past `operationTimeout` (an idle rank 0
    /// is not a failure); but the all-reduces of the step that follows wait only `operationTimeout`, so a rank 0 that
    /// stops answering mid-step fails the follower with `.timedOut(rank: 0)` instead of hanging it.
    func testPlanWaitOutlastsTheOperationTimeoutButInStepWaitsDoNot() {
        let group = uniqueGroup("plan")
        let followerFailed = DispatchSemaphore(value: 0)
        let waitedForPlan = Mutex<Double>(0), waitedInStep = Mutex<Double>(0)
        let errors = runRanks(2) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: 16,
                                                      operationTimeout: .milliseconds(200), planTimeout: .seconds(60)))
            defer { processGroup.close() }
            var values: [Float] = [1]
            if rank == 0 {
                // Idle for five operation timeouts (the situation under test, not synchronisation), then publish a
                // step and stop answering until the follower has given up on it.
                Thread.sleep(forTimeInterval: 1)
                try processGroup.publishPlan([1])
                guard followerFailed.wait(timeout: .now() + 60) == .success else { throw Mismatch(text: "rank 1 hung") }
                try processGroup.allReduceSum(&values)   // finds the failure rank 1 recorded
            } else {
                let start = ContinuousClock.now
                XCTAssertEqual(try processGroup.receivePlan(), [1])
                waitedForPlan.withLock { $0 = seconds(since: start) }
                let stepStart = ContinuousClock.now
                defer {
                    waitedInStep.withLock { $0 = seconds(since: stepStart) }
                    followerFailed.signal()
                }
                try processGroup.allReduceSum(&values)
            }
        }
        XCTAssertEqual(errors[1] as? ProcessGroupError, .timedOut(rank: 0))
        XCTAssertEqual(errors[0] as? ProcessGroupError, .timedOut(rank: 0))
        XCTAssertGreaterThan(waitedForPlan.withLock { $0 }, 0.6, "the plan wait gave up at the operation timeout")
        let inStep = waitedInStep.withLock { $0 }
        XCTAssertGreaterThanOrEqual(inStep, 0.2)
        XCTAssertLessThan(inStep, 3, "the in-step all-reduce must give up at the operation timeout")
    }

    func testPeerThatClosesFailsTheOthers() {
        let group = uniqueGroup("closed")
        let errors = runRanks(3) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 3, allReduceCapacity: 16,
                                                      operationTimeout: .seconds(60)))
            if rank == 2 {
                processGroup.close()
                return
            }
            defer { processGroup.close() }
            let start = ContinuousClock.now
            var values: [Float] = [1]
            do {
                try processGroup.allReduceSum(&values)
            } catch {
                if seconds(since: start) > 10 { throw Mismatch(text: "noticed the departure only after \(seconds(since: start)) s") }
                throw error
            }
        }
        XCTAssertNil(errors[2])
        XCTAssertEqual(errors[0] as? ProcessGroupError, .peerClosed(rank: 2))
        XCTAssertEqual(errors[1] as? ProcessGroupError, .peerClosed(rank: 2))
    }

    func testFailedGroupStaysFailed() throws {
        let group = uniqueGroup("stays")
        let errors = runRanks(2) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: 16,
                                                      operationTimeout: .seconds(60)))
            if rank == 1 { return processGroup.close() }
            XCTAssertThrowsError(try processGroup.synchronize()) { XCTAssertEqual($0 as? ProcessGroupError, .peerClosed(rank: 1)) }
            var values: [Float] = [1]
            XCTAssertThrowsError(try processGroup.allReduceSum(&values)) { XCTAssertEqual($0 as? ProcessGroupError, .peerClosed(rank: 1)) }
            processGroup.close()
            XCTAssertThrowsError(try processGroup.synchronize()) { XCTAssertEqual($0 as? ProcessGroupError, .closed) }
        }
        assertNoErrors(errors)
    }

    func testJoinTimesOutWithoutPeers() {
        let start = ContinuousClock.now
        XCTAssertThrowsError(try ProcessGroup(.init(group: uniqueGroup("alone"), rank: 0, size: 3, allReduceCapacity: 16,
                                                    connectTimeout: .milliseconds(200)))) {
            XCTAssertEqual($0 as? ProcessGroupError, .timedOut(rank: 1))
        }
        XCTAssertLessThan(seconds(since: start), 3)
        XCTAssertEqual(SharedMemorySegment.removeStale(prefix: "/scalellm-test\(getpid())-alone"), [], "rank 0 unlinked it")
        XCTAssertThrowsError(try ProcessGroup(.init(group: uniqueGroup("nobody"), rank: 1, size: 2, allReduceCapacity: 16,
                                                    connectTimeout: .milliseconds(200)))) {
            guard case .segmentNotFound = $0 as? ProcessGroupError else { return XCTFail("\($0)") }
        }
    }

    /// A peer this rank started that dies before joining (e.g. it could not load its model) fails the join at
    /// once instead of after the connect timeout.
    func testSpawnedPeerThatDiesBeforeJoiningFailsTheJoinAtOnce() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { argv.forEach { free($0) } }
        XCTAssertEqual(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ), 0)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)   // gone before it could ever join

        let start = ContinuousClock.now
        XCTAssertThrowsError(try ProcessGroup(.init(group: uniqueGroup("stillborn"), rank: 0, size: 2, allReduceCapacity: 16,
                                                    connectTimeout: .seconds(30), spawnedPeers: [1: pid]))) {
            XCTAssertEqual($0 as? ProcessGroupError, .peerDied(rank: 1))
        }
        XCTAssertLessThan(seconds(since: start), 5, "the dead peer was only noticed at the join deadline")
    }

    func testMismatchedConfigurationAndTakenRank() {
        let group = uniqueGroup("config")
        let errors = runRanks(2) { rank in
            if rank == 0 {
                let processGroup = try ProcessGroup(.init(group: group, rank: 0, size: 2, allReduceCapacity: 16,
                                                          connectTimeout: .seconds(60)))
                processGroup.close()
            } else {
                XCTAssertThrowsError(try ProcessGroup(.init(group: group, rank: 1, size: 2, allReduceCapacity: 32,
                                                            connectTimeout: .seconds(60)))) {
                    guard case .incompatibleSegment = $0 as? ProcessGroupError else { return XCTFail("\($0)") }
                }
                XCTAssertThrowsError(try ProcessGroup(.init(group: group, rank: 0, size: 2, allReduceCapacity: 16,
                                                            connectTimeout: .seconds(60)))) {
                    XCTAssertEqual($0 as? ProcessGroupError, .segmentInUse(name: try! SharedMemorySegment.name(group: group), ownerPID: getpid()))
                }
                let processGroup = try ProcessGroup(.init(group: group, rank: 1, size: 2, allReduceCapacity: 16,
                                                          connectTimeout: .seconds(60)))
                processGroup.close()
            }
        }
        assertNoErrors(errors)
    }
}

/// CPU time the calling thread has used.
func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}
