import ProcessGroup
import XCTest

/// Rank 0's plans reach every other rank in order, interleaved with all-reduces.
final class StepPlanChannelTests: XCTestCase {
    private static func plan(_ number: Int, capacity: Int) -> [UInt8] {
        let length = number % 7 == 3 ? capacity : (number * 131) % (capacity + 1)
        return (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ number) }
    }

    func testPlansRoundTrip() {
        let group = uniqueGroup("plans")
        let capacity = 1000
        let errors = runRanks(3) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 3, allReduceCapacity: 16, planCapacity: capacity))
            defer { processGroup.close() }
            for number in 0..<200 {
                let expected = Self.plan(number, capacity: capacity)
                if rank == 0 {
                    try processGroup.publishPlan(expected)
                } else {
                    let plan = try processGroup.receivePlan()
                    if plan != expected { throw Mismatch(text: "rank \(rank) plan \(number): \(plan.count) bytes, expected \(expected.count)") }
                }
                if number % 10 == 9 {
                    var values = [Float(rank)]
                    try processGroup.allReduceSum(&values)
                    if values != [3] { throw Mismatch(text: "\(values)") }
                }
            }
            XCTAssertEqual(processGroup.plans.count, 200)
        }
        assertNoErrors(errors)
    }

    func testPlanCapacityAndRoles() {
        let group = uniqueGroup("planroles")
        let errors = runRanks(2) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: 16, planCapacity: 8))
            defer { processGroup.close() }
            if rank == 0 {
                XCTAssertThrowsError(try processGroup.publishPlan([UInt8](repeating: 0, count: 9))) {
                    XCTAssertEqual($0 as? ProcessGroupError, .capacityExceeded(what: "plan of 9 bytes", requested: 9, capacity: 8))
                }
                XCTAssertThrowsError(try processGroup.receivePlan()) {
                    guard case .invalidArgument = $0 as? ProcessGroupError else { return XCTFail("\($0)") }
                }
                try processGroup.publishPlan([1, 2, 3])
            } else {
                XCTAssertThrowsError(try processGroup.publishPlan([1])) {
                    guard case .invalidArgument = $0 as? ProcessGroupError else { return XCTFail("\($0)") }
                }
                XCTAssertEqual(try processGroup.receivePlan(), [1, 2, 3])
            }
            try processGroup.synchronize()
        }
        assertNoErrors(errors)
    }
}
