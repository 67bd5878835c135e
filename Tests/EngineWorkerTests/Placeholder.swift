import XCTest
final class EngineWorkerTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
