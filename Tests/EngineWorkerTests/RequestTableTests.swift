import XCTest
@testable import EngineWorker

/// The worker's one record of request identity: wire ids are per connection, engine ids per worker.
final class RequestTableTests: XCTestCase {
    func testIdentitiesAcrossConnections() {
        var table = RequestTable()
        let a = ConnectionID(raw: 1), b = ConnectionID(raw: 2)
        let first = table.nextEngineID(), second = table.nextEngineID(), third = table.nextEngineID()
        XCTAssertEqual(Set([first, second, third]).count, 3)
        table.insert(.init(connection: a, wireID: 1), engineID: first)
        table.insert(.init(connection: b, wireID: 1), engineID: second)   // the same wire id on another connection
        table.insert(.init(connection: a, wireID: 2), engineID: third)
        XCTAssertTrue(table.contains(.init(connection: b, wireID: 1)))
        XCTAssertFalse(table.contains(.init(connection: b, wireID: 2)))
        XCTAssertEqual(table.owner(of: second), .init(connection: b, wireID: 1))

        XCTAssertEqual(table.remove(.init(connection: a, wireID: 2)), third)
        XCTAssertNil(table.remove(.init(connection: a, wireID: 2)))
        XCTAssertEqual(table.remove(engineID: first), .init(connection: a, wireID: 1))
        XCTAssertEqual(table.count, 1)
        XCTAssertEqual(table.removeAll(of: b), [second])
        XCTAssertEqual(table.count, 0)
        XCTAssertFalse(table.contains(.init(connection: b, wireID: 1)))
    }
}
