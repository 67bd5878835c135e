import XCTest
import Foundation
@testable import Gateway

/// The admission queue must never stay blocked behind an entry that cannot start: an entry leaving the head of the
/// queue (timed out, withdrawn) lets the ones behind it start.
final class AdmissionQueueTests: XCTestCase {
    /// Loop-thread state of one test: the queue and what happened to each request.
    private final class Scenario: @unchecked Sendable {
        var queue: AdmissionQueue?
        var room = 1
        var events: [String] = []

        /// Queues a request for `sequences` that records when it starts (taking that much room) or times out.
        func admit(_ name: String, sequences: Int, done: DispatchSemaphore? = nil) -> UInt64? {
            queue?.admit(sequences: sequences, start: { [unowned self] in
                room -= sequences
                events.append("\(name) started")
                done?.signal()
            }, timedOut: { [unowned self] in
                events.append("\(name) timed out")
            })
        }
    }

    private func withQueue(timeoutMilliseconds: UInt64, _ body: (LoopRunner, Scenario) throws -> Void) throws {
        let runner = try LoopRunner()
        let scenario = Scenario()
        scenario.queue = AdmissionQueue(loop: runner.loop, timeoutMilliseconds: timeoutMilliseconds,
                                        hasRoom: { [unowned scenario] in $0 <= scenario.room })
        runner.start()
        defer {
            runner.sync { scenario.queue = nil }
            runner.finish()
        }
        try body(runner, scenario)
    }

    func testTimedOutHeadLetsTheNextRequestStart() throws {
        try withQueue(timeoutMilliseconds: 50) { runner, scenario in
            let started = DispatchSemaphore(value: 0)
            runner.sync {
                _ = scenario.admit("wide", sequences: 2)           // never fits: room is 1
                _ = scenario.admit("narrow", sequences: 1, done: started)  // fits, but queued behind it
            }
            waitFor(started, "the request behind the timed-out head")
            let events = Shared<[String]>([])
            runner.sync { events.value = scenario.events }
            XCTAssertEqual(events.value, ["wide timed out", "narrow started"])
        }
    }

    func testWithdrawnHeadLetsTheNextRequestStart() throws {
        try withQueue(timeoutMilliseconds: 60_000) { runner, scenario in
            let state = Shared<(events: [String], queued: Int)>(([], -1))
            runner.sync {
                let wide = scenario.admit("wide", sequences: 2)
                _ = scenario.admit("narrow", sequences: 1)
                XCTAssertEqual(scenario.events, [])
                scenario.queue?.withdraw(wide!)
                state.value = (scenario.events, scenario.queue?.count ?? -1)
            }
            XCTAssertEqual(state.value.events, ["narrow started"])
            XCTAssertEqual(state.value.queued, 0)
        }
    }

    func testRoomAppearingStartsQueuedRequestsInOrder() throws {
        try withQueue(timeoutMilliseconds: 60_000) { runner, scenario in
            let events = Shared<[[String]]>([])
            runner.sync {
                scenario.room = 0
                _ = scenario.admit("first", sequences: 1)
                _ = scenario.admit("second", sequences: 1)
                scenario.room = 1
                scenario.queue?.drain()
                events.value.append(scenario.events)
                scenario.room += 1
                scenario.queue?.drain()
                events.value.append(scenario.events)
            }
            XCTAssertEqual(events.value, [["first started"], ["first started", "second started"]])
        }
    }
}
