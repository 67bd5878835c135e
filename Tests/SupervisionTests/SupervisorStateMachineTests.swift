import XCTest
import Supervision

/// `scalellm serve`'s supervision, event by event, without processes.
final class SupervisorStateMachineTests: XCTestCase {
    private let killed = ExitStatus.signalled(9)

    func testACrashedWorkerIsRestartedWithGrowingBackoff() {
        var machine = SupervisorStateMachine(maxRestarts: 3, restartWindow: 60, initialBackoff: 0.5, maxBackoff: 1.5)
        var actions = machine.exited(.worker, pid: 10, killed, at: 100)
        XCTAssertEqual(machine.state, .waitingToRestart(restartAt: 100.5))
        guard case .log(let message)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertTrue(message.contains("the worker (pid 10) was killed by signal 9"), message)
        XCTAssertEqual(machine.tick(at: 100.4), [], "not due yet")
        XCTAssertEqual(machine.tick(at: 100.5), [.startWorker])
        XCTAssertEqual(machine.state, .serving)
        XCTAssertEqual(machine.tick(at: 200), [], "nothing is waiting")

        _ = machine.exited(.worker, pid: 11, .exited(3), at: 101)
        XCTAssertEqual(machine.nextDeadline, 102, "the second crash waits twice as long")
        XCTAssertEqual(machine.tick(at: 102), [.startWorker])
        _ = machine.exited(.worker, pid: 12, killed, at: 103)
        XCTAssertEqual(machine.nextDeadline, 104.5, "capped at maxBackoff")
        actions = machine.tick(at: 104.5)
        XCTAssertEqual(actions, [.startWorker])
    }

    func testTooManyCrashesWithinTheWindowGiveUp() {
        var machine = SupervisorStateMachine(maxRestarts: 2, restartWindow: 10)
        _ = machine.exited(.worker, pid: 1, killed, at: 0)
        _ = machine.tick(at: 100)
        _ = machine.exited(.worker, pid: 2, killed, at: 105)     // the first crash is out of the window
        XCTAssertEqual(machine.recentCrashes, [105])
        _ = machine.tick(at: 107)
        _ = machine.exited(.worker, pid: 3, killed, at: 108)
        _ = machine.tick(at: 111)
        _ = machine.exited(.worker, pid: 4, killed, at: 112)     // three within 10 s: more than 2
        XCTAssertEqual(machine.state, .failing)
        // The gateway is stopped; serve exits non-zero once it has.
        XCTAssertEqual(machine.exited(.gateway, pid: 5, .exited(0), at: 210), [.exit(success: false)])
    }

    func testNoRestartsAllowedFailsAtTheFirstCrash() {
        var machine = SupervisorStateMachine(maxRestarts: 0, restartWindow: 60)
        let actions = machine.exited(.worker, pid: 7, killed, at: 0)
        XCTAssertEqual(Array(actions.dropFirst()), [.stopChildren])
        guard case .log(let message)? = actions.first else { return XCTFail() }
        XCTAssertTrue(message.contains("giving up"), message)
    }

    func testStopRequestsAndCleanExits() {
        var stopping = SupervisorStateMachine(maxRestarts: 5, restartWindow: 60)
        XCTAssertEqual(stopping.stopRequested(at: 0), [.stopChildren])
        XCTAssertEqual(stopping.stopRequested(at: 0), [], "a second signal changes nothing")
        XCTAssertEqual(stopping.exited(.worker, pid: 1, killed, at: 0), [], "no restart while stopping")
        XCTAssertEqual(stopping.exited(.gateway, pid: 2, .exited(0), at: 0), [.exit(success: true)])

        var waiting = SupervisorStateMachine(maxRestarts: 5, restartWindow: 60)
        _ = waiting.exited(.worker, pid: 1, killed, at: 0)
        XCTAssertEqual(waiting.stopRequested(at: 0), [.stopChildren], "a stop while a restart waits cancels it")
        XCTAssertEqual(waiting.tick(at: 39), [], "no restart, and the children still have time")
        XCTAssertEqual(waiting.exited(.gateway, pid: 2, .exited(0), at: 1), [.exit(success: true)])

        var shutdown = SupervisorStateMachine(maxRestarts: 5, restartWindow: 60)
        let actions = shutdown.exited(.worker, pid: 1, .exited(0), at: 0)
        XCTAssertEqual(Array(actions.dropFirst()), [.stopChildren], "the admin shutdown stops the gateway too")
        XCTAssertEqual(shutdown.exited(.gateway, pid: 2, .exited(0), at: 0), [.exit(success: true)])

        var gatewayDied = SupervisorStateMachine(maxRestarts: 5, restartWindow: 60)
        XCTAssertEqual(Array(gatewayDied.exited(.gateway, pid: 2, killed, at: 0).dropFirst()), [.stopChildren])
        XCTAssertEqual(gatewayDied.exited(.worker, pid: 1, .exited(0), at: 0), [.exit(success: false)])
    }

    func testAFailedRestartGivesUp() {
        var machine = SupervisorStateMachine(maxRestarts: 5, restartWindow: 60)
        _ = machine.exited(.worker, pid: 1, killed, at: 0)
        XCTAssertEqual(machine.tick(at: 1), [.startWorker])
        XCTAssertEqual(Array(machine.restartFailed("gone").dropFirst()), [.stopChildren])
        XCTAssertEqual(machine.exited(.gateway, pid: 2, .exited(0), at: 2), [.exit(success: false)])
    }

    func testChildrenThatOutliveTheStopTimeoutAreKilled() {
        var machine = SupervisorStateMachine(maxRestarts: 5, restartWindow: 60, stopTimeout: 40)
        XCTAssertEqual(machine.stopRequested(at: 100), [.stopChildren])
        XCTAssertEqual(machine.nextDeadline, 140)
        XCTAssertEqual(machine.tick(at: 139), [])
        XCTAssertEqual(machine.tick(at: 140).last, .killChildren)
        XCTAssertEqual(machine.state, .failing)
        _ = machine.exited(.worker, pid: 1, .signalled(9), at: 141)
        XCTAssertEqual(machine.exited(.gateway, pid: 2, .signalled(9), at: 141), [.exit(success: false)])
    }
}
