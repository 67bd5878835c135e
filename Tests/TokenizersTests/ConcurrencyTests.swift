import Foundation
import XCTest
import Tokenizers

/// One `Tokenizer` is shared by all requests: concurrent use must give the same results.
final class ConcurrencyTests: XCTestCase {
    func testConcurrentEncodeDecode() throws {
        let tokenizer = try GoldenData.tokenizer(GoldenData.smollm)
        let cases = try GoldenData.tokenizerCases(GoldenData.smollm)
        let failures = NSLock()
        nonisolated(unsafe) var failed: [String] = []
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for (i, c) in cases.enumerated() where i % 8 == worker || i % 3 == 0 {
                let ids = tokenizer.encode(c.text)
                let text = tokenizer.decode(ids, skipSpecialTokens: false)
                if ids != c.ids || text != c.decodedNoSpecialKeepSpecial {
                    failures.lock()
                    failed.append(c.text)
                    failures.unlock()
                }
            }
        }
        XCTAssertEqual(failed, [])
    }
}
