import XCTest
final class TokenizersTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
