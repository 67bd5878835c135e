import XCTest
final class ChatTemplatesTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
