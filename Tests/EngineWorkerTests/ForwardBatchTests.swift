import XCTest
@testable import EngineWorker

/// How a step's chunks are cut into units of attention work.
final class ForwardBatchTests: XCTestCase {
    func testAttentionSlicesCoverEveryQueryOnceInOrder() {
        var batch = ForwardBatch()
        batch.append(tokens: [Int32](repeating: 1, count: 40), firstPosition: 0, blockTable: [0, 1, 2])
        batch.append(tokens: [7], firstPosition: 90, blockTable: [3, 4, 5, 6, 7, 8])
        batch.append(tokens: [Int32](repeating: 2, count: 16), firstPosition: 16, blockTable: [9, 10])
        let slices = batch.attentionSlices(maxQueries: 16)
        XCTAssertEqual(slices.map(\.chunk), [0, 0, 0, 1, 2])
        XCTAssertEqual(slices.map(\.queries), [0..<16, 16..<32, 32..<40, 0..<1, 0..<16])
    }
}
