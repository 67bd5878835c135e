import XCTest
final class ServingBenchmarkTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
