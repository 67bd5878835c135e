import XCTest
import WireProtocol
@testable import Gateway

/// The heartbeat rules, with made-up times: silence, work without progress, a long step, recovery.
final class WorkerLivenessTests: XCTestCase {
    private func busy(steps: UInt64, stepElapsed: UInt32 = 0) -> StatusReply {
        StatusReply(running: 2, waiting: 1, engineSteps: steps, stepElapsedMilliseconds: stepElapsed)
    }

    func testSilenceIsAStallAndTheNextHeartbeatEndsIt() {
        var liveness = WorkerLiveness(timeout: 10, since: 0)
        XCTAssertNil(liveness.check(at: 10))
        XCTAssertEqual(liveness.check(at: 10.5), "no heartbeat from the engine worker for 10500 ms")
        XCTAssertNil(liveness.check(at: 11), "reported once")
        XCTAssertTrue(liveness.heard(StatusReply(), at: 12), "an idle worker's heartbeat ends it")
        XCTAssertNil(liveness.stall)
    }

    func testWorkWithoutProgressIsAStall() {
        var liveness = WorkerLiveness(timeout: 10, since: 0)
        XCTAssertFalse(liveness.heard(busy(steps: 5), at: 1))
        for t in stride(from: 2.0, through: 11, by: 1) {
            XCTAssertFalse(liveness.heard(busy(steps: 5), at: t))
            XCTAssertNil(liveness.check(at: t), "\(t)")
        }
        XCTAssertEqual(liveness.check(at: 11.5), "the engine worker has made no progress for 10500 ms")
        XCTAssertFalse(liveness.heard(busy(steps: 5), at: 12), "still no progress")
        XCTAssertTrue(liveness.heard(busy(steps: 6), at: 13), "a step completed")
    }

    func testALongStepIsProgressUpToTenTimeouts() {
        var liveness = WorkerLiveness(timeout: 10, since: 0)
        for t in stride(from: 1.0, through: 99, by: 1) {
            _ = liveness.heard(busy(steps: 5, stepElapsed: UInt32(t * 1000)), at: t)
            XCTAssertNil(liveness.check(at: t), "a 99 s prefill chunk is not a hang (\(t))")
        }
        for t in stride(from: 100.0, through: 110, by: 1) {
            _ = liveness.heard(busy(steps: 5, stepElapsed: UInt32(t * 1000)), at: t)
        }
        XCTAssertNotNil(liveness.check(at: 110.5), "a step ten timeouts long is")
    }
}
