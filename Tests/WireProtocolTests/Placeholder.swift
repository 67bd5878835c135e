import XCTest
final class WireProtocolTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
