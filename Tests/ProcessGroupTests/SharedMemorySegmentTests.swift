import Dispatch
import Foundation
import ProcessGroup
import XCTest

/// Creating, opening, unlinking and cleaning up named segments.
final class SharedMemorySegmentTests: XCTestCase {
    func testStaleSegmentOfDeadCreatorIsRemoved() throws {
        let group = uniqueGroup("stale")
        let name = try SharedMemorySegment.name(group: group)
        let probe = try ProbeProcess(["create-and-exit", "--group", group])
        XCTAssertEqual(try probe.wait(), 0)
        XCTAssertTrue(SharedMemorySegment.exists(name: name), "the crashed creator left its segment")

        // A live segment with the same prefix survives.
        let live = try SharedMemorySegment.create(name: name + "-live", payloadSize: 64, layoutVersion: 7) { _ in }
        XCTAssertEqual(SharedMemorySegment.removeStale(prefix: "/scalellm-" + group), [name])
        XCTAssertFalse(SharedMemorySegment.exists(name: name))
        XCTAssertTrue(SharedMemorySegment.exists(name: name + "-live"))
        XCTAssertEqual(SharedMemorySegment.removeStale(prefix: "scalellm-" + group), [])
        live.close()
        XCTAssertFalse(SharedMemorySegment.exists(name: name + "-live"))
    }

    func testCreatorReplacesStaleSegment() throws {
        let group = uniqueGroup("replace")
        let name = try SharedMemorySegment.name(group: group)
        XCTAssertEqual(try ProbeProcess(["create-and-exit", "--group", group]).wait(), 0)
        XCTAssertTrue(SharedMemorySegment.exists(name: name))
        let processGroup = try ProcessGroup(.init(group: group, rank: 0, size: 1, allReduceCapacity: 4))
        XCTAssertEqual(processGroup.segment.creatorPID, getpid())
        processGroup.close()
        XCTAssertFalse(SharedMemorySegment.exists(name: name))
    }

    func testLiveSegmentIsNotReplaced() throws {
        let name = try SharedMemorySegment.name(group: uniqueGroup("live"))
        let first = try SharedMemorySegment.create(name: name, payloadSize: 100, layoutVersion: 1) { $0.storeBytes(of: 42, as: UInt8.self) }
        XCTAssertThrowsError(try SharedMemorySegment.create(name: name, payloadSize: 100, layoutVersion: 1) { _ in }) {
            XCTAssertEqual($0 as? ProcessGroupError, .segmentInUse(name: name, ownerPID: getpid()))
        }
        let second = try SharedMemorySegment.open(name: name, layoutVersion: 1, deadline: .now + .seconds(5))
        XCTAssertFalse(second.isCreator)
        XCTAssertEqual(second.payloadSize, 100)
        XCTAssertEqual(second.payload.load(as: UInt8.self), 42)
        XCTAssertThrowsError(try SharedMemorySegment.open(name: name, layoutVersion: 2, deadline: .now + .seconds(5))) {
            guard case .incompatibleSegment = $0 as? ProcessGroupError else { return XCTFail("\($0)") }
        }
        second.close()
        XCTAssertTrue(SharedMemorySegment.exists(name: name), "only the creator unlinks while it runs")
        first.close()
        first.close()
        XCTAssertFalse(SharedMemorySegment.exists(name: name))
    }

    func testOpenWaitsForCreatorAndTimesOut() throws {
        let name = try SharedMemorySegment.name(group: uniqueGroup("wait"))
        let opened = DispatchSemaphore(value: 0)
        let errors = runRanks(2) { rank in
            if rank == 0 {
                let segment = try SharedMemorySegment.create(name: name, payloadSize: 8, layoutVersion: 3) { $0.storeBytes(of: 7, as: UInt64.self) }
                guard opened.wait(timeout: .now() + 60) == .success else { throw Mismatch(text: "rank 1 never opened") }
                segment.close()
            } else {
                // Usually starts before rank 0 has created the segment: open waits for it.
                let segment = try SharedMemorySegment.open(name: name, layoutVersion: 3, deadline: .now + .seconds(60))
                opened.signal()
                if segment.payload.load(as: UInt64.self) != 7 { throw Mismatch(text: "payload not initialised") }
                segment.close()
            }
        }
        assertNoErrors(errors)

        let start = ContinuousClock.now
        XCTAssertThrowsError(try SharedMemorySegment.open(name: name, layoutVersion: 3, deadline: .now + .milliseconds(200))) {
            XCTAssertEqual($0 as? ProcessGroupError, .segmentNotFound(name: name))
        }
        XCTAssertGreaterThanOrEqual(seconds(since: start), 0.2)
        XCTAssertLessThan(seconds(since: start), 3)
    }

    func testNames() throws {
        XCTAssertEqual(try SharedMemorySegment.name(group: "tp-0.a_b"), "/scalellm-tp-0.a_b-shm")
        for bad in ["", "a/b", "a b", String(repeating: "x", count: 201)] {
            XCTAssertThrowsError(try SharedMemorySegment.name(group: bad))
        }
    }
}
