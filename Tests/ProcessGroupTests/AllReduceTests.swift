import ProcessGroup
import XCTest

/// All-reduce across threads acting as ranks: each thread opens the segment by name, so every value goes through
/// the shared mapping exactly as between processes.
final class AllReduceTests: XCTestCase {
    func testExactSumsForOddSizes() {
        for size in [2, 3] {
            let group = uniqueGroup("sum\(size)")
            let counts = [1, 3, 577, 4096, 100_003]
            let errors = runRanks(size) { rank in
                let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: size, allReduceCapacity: 100_003,
                                                          operationTimeout: .seconds(60)))
                defer { processGroup.close() }
                var call = 0
                for count in counts {
                    for _ in 0..<(count > 10_000 ? 6 : 25) {
                        var buffer = testVector(rank: rank, call: call, count: count, seed: 42)
                        var expected = [Float](repeating: 0, count: count)
                        for r in 0..<size {
                            for (i, v) in testVector(rank: r, call: call, count: count, seed: 42).enumerated() { expected[i] += v }
                        }
                        try processGroup.allReduceSum(&buffer)
                        if buffer != expected {
                            let index = zip(buffer, expected).enumerated().first { $0.element.0 != $0.element.1 }!.offset
                            throw Mismatch(text: "size \(size) count \(count) call \(call) element \(index): \(buffer[index]) != \(expected[index])")
                        }
                        call += 1
                    }
                }
            }
            assertNoErrors(errors)
            XCTAssertFalse(SharedMemorySegment.exists(name: try! SharedMemorySegment.name(group: group)))
        }
    }

    func testChunksPartitionTheVector() {
        for size in 1...5 {
            for count in [0, 1, 2, 15, 16, 17, 31, 33, 576, 577, 1000, 4096, 100_003] {
                var covered = 0
                for rank in 0..<size {
                    let chunk = AllReduce.chunk(of: rank, count: count, size: size)
                    XCTAssertEqual(chunk.lowerBound, covered, "size \(size) count \(count) rank \(rank)")
                    if chunk.upperBound < count { XCTAssertEqual(chunk.count % 16, 0) }
                    covered = chunk.upperBound
                }
                XCTAssertEqual(covered, count, "size \(size) count \(count)")
            }
        }
    }

    func testEmptyVectorsAndSingleRank() throws {
        let single = try ProcessGroup(.init(group: uniqueGroup("single"), rank: 0, size: 1, allReduceCapacity: 8))
        var values: [Float] = [1, 2, 3]
        try single.allReduceSum(&values)
        XCTAssertEqual(values, [1, 2, 3])
        single.close()

        let group = uniqueGroup("empty")
        assertNoErrors(runRanks(2) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: 8))
            var empty: [Float] = []
            try processGroup.allReduceSum(&empty)
            var one: [Float] = [Float(rank + 1)]
            try processGroup.allReduceSum(&one)
            if one != [3] { throw Mismatch(text: "\(one)") }
            processGroup.close()
        })
    }

    func testCountMismatchAndCapacity() {
        let group = uniqueGroup("mismatch")
        let errors = runRanks(2) { rank in
            let processGroup = try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: 64))
            defer { processGroup.close() }
            var tooLong = [Float](repeating: 1, count: 65)
            XCTAssertThrowsError(try processGroup.allReduceSum(&tooLong)) {
                XCTAssertEqual($0 as? ProcessGroupError, .capacityExceeded(what: "all-reduce of 65 floats", requested: 65, capacity: 64))
            }
            var values = [Float](repeating: 1, count: 10 + rank)
            try processGroup.allReduceSum(&values)
        }
        XCTAssertEqual(errors[0] as? ProcessGroupError, .countMismatch(rank: 1, count: 11, expected: 10))
        XCTAssertEqual(errors[1] as? ProcessGroupError, .countMismatch(rank: 0, count: 10, expected: 11))
    }
}

struct Mismatch: Error, CustomStringConvertible { let text: String; var description: String { text } }
