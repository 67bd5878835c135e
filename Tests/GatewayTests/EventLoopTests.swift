import LoopIO
import XCTest
import Foundation
@testable import Gateway

final class EventLoopTests: XCTestCase {
    func testStopBeforeRunReturnsAndClosesCleanly() throws {
        let loop = try EventLoop()
        loop.stop()
        loop.run()
        XCTAssertEqual(loop.closedCleanly, true)
        XCTAssertFalse(loop.execute {})
    }

    func testLoopThatNeverRanDeinitializes() throws {
        weak var weakLoop: EventLoop?
        do {
            let loop = try EventLoop()
            weakLoop = loop
        }
        XCTAssertNil(weakLoop)
    }

    func testExecuteFromManyThreads() throws {
        let runner = try LoopRunner()
        runner.start()
        defer { runner.finish() }
        let loop = runner.loop
        let threads = 4, perThread = 250
        let count = Shared(0)
        let offLoop = Shared(0)
        let done = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread {
                for _ in 0..<perThread {
                    loop.execute {
                        if !loop.inEventLoop { offLoop.mutate { $0 += 1 } }
                        let n = count.mutate { $0 += 1; return $0 }
                        if n == threads * perThread { done.signal() }
                    }
                }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        waitFor(done, "all posted closures")
        XCTAssertEqual(count.value, threads * perThread)
        XCTAssertEqual(offLoop.value, 0)
        XCTAssertFalse(loop.inEventLoop)
    }

    func testExecuteKeepsOrderFromOneThread() throws {
        let runner = try LoopRunner()
        runner.start()
        defer { runner.finish() }
        let seen = Shared([Int]())
        for i in 0..<100 { runner.loop.execute { seen.mutate { $0.append(i) } } }
        runner.sync {}
        XCTAssertEqual(seen.value, Array(0..<100))
    }

    func testRunOnPoolCompletesOnLoopThread() throws {
        let runner = try LoopRunner()
        runner.start()
        defer { runner.finish() }
        let loop = runner.loop
        let result = Shared<(workOnLoop: Bool, thenOnLoop: Bool, value: Int)?>(nil)
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            loop.runOnPool({ () -> (Bool, Int) in
                (loop.inEventLoop, (1...100).reduce(0, +))
            }, then: { workOnLoop, value in
                result.value = (workOnLoop, loop.inEventLoop, value)
                done.signal()
            })
        }
        waitFor(done, "pool completion")
        XCTAssertEqual(result.value?.workOnLoop, false)
        XCTAssertEqual(result.value?.thenOnLoop, true)
        XCTAssertEqual(result.value?.value, 5050)
    }

    func testTimersFireInOrderAndCancel() throws {
        let runner = try LoopRunner()
        let loop = runner.loop
        let events = Shared([String]())
        let done = DispatchSemaphore(value: 0)
        // Set up before run(): allowed.
        let cancelled = loop.scheduleTimer(after: 5) { events.mutate { $0.append("cancelled fired") } }
        cancelled.cancel()
        XCTAssertFalse(cancelled.isActive)
        loop.scheduleTimer(after: 1) { events.mutate { $0.append("one-shot") } }
        var repeating: TimerHandle?
        var ticks = 0
        repeating = loop.scheduleTimer(after: 2, repeat: 2) {
            ticks += 1
            events.mutate { $0.append("tick \(ticks)") }
            if ticks == 3 {
                repeating?.cancel()
                loop.scheduleTimer(after: 10) {
                    events.mutate { $0.append("last") }
                    done.signal()
                }
            }
        }
        runner.start()
        defer { runner.finish() }
        waitFor(done, "timers")
        XCTAssertEqual(events.value, ["one-shot", "tick 1", "tick 2", "tick 3", "last"])
    }

    func testSignalWatch() throws {
        let runner = try LoopRunner()
        let loop = runner.loop
        let received = Shared<(Int32, Bool)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let watch = try loop.onSignal(SIGHUP) { signum in
            received.value = (signum, loop.inEventLoop)
            done.signal()
        }
        runner.start()
        defer { runner.finish() }
        raise(SIGHUP)
        waitFor(done, "SIGHUP")
        XCTAssertEqual(received.value?.0, SIGHUP)
        XCTAssertEqual(received.value?.1, true)
        let shared = Shared(watch)
        runner.sync { shared.value.cancel() }
    }

    func testStopRunsPendingWorkAndDropsLaterPosts() throws {
        let runner = try LoopRunner()
        runner.start()
        let ran = Shared(0)
        runner.loop.execute { ran.mutate { $0 += 1 } }
        runner.finish()
        XCTAssertEqual(ran.value, 1)
        XCTAssertFalse(runner.loop.execute { ran.mutate { $0 += 1 } })
        XCTAssertEqual(ran.value, 1)
    }

    func testErrorNames() {
        let error = LoopIOError(uvCode: Int32(-ECONNREFUSED))
        XCTAssertEqual(error.uvErrorName, "ECONNREFUSED")
        XCTAssertFalse(error.isEndOfFile)
        XCTAssertTrue(LoopIOError(uvCode: uvEOF).isEndOfFile)
        XCTAssertEqual(LoopIOError(uvCode: uvEOF).description, "EOF: end of file")
    }
}
