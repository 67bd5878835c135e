import TestSupport
import XCTest
@testable import Kernels

/// PagedAttention against a naive causal softmax attention computed in Double, with keys and values stored
/// through a shuffled block table into a pool whose unused slots are NaN (so any read outside the sequence's
/// cache shows up in the output).
final class PagedAttentionTests: XCTestCase {
    struct Configuration: CustomStringConvertible {
        var headDim: Int, headCount: Int, kvHeadCount: Int, blockSize: Int
        var description: String { "headDim \(headDim), heads \(headCount)/\(kvHeadCount), block \(blockSize)" }
    }

    /// Query tokens `firstPosition ..< firstPosition + queryCount`; the cache holds every position up to the last.
    struct Scenario: CustomStringConvertible {
        var firstPosition: Int, queryCount: Int
        var description: String { "positions \(firstPosition)..<\(firstPosition + queryCount)" }
    }

    static let configurations = [
        Configuration(headDim: 8, headCount: 8, kvHeadCount: 4, blockSize: 16),
        Configuration(headDim: 64, headCount: 8, kvHeadCount: 4, blockSize: 16),
        Configuration(headDim: 64, headCount: 9, kvHeadCount: 3, blockSize: 16),
        Configuration(headDim: 8, headCount: 9, kvHeadCount: 3, blockSize: 4),
        Configuration(headDim: 64, headCount: 4, kvHeadCount: 4, blockSize: 4),
        Configuration(headDim: 8, headCount: 4, kvHeadCount: 4, blockSize: 16),
        // Widths around the C kernel's 16 lanes: a head of 16 + 16 + 8 floats, tiles of 16 + 16 + 3 scores.
        Configuration(headDim: 40, headCount: 4, kvHeadCount: 2, blockSize: 35),
    ]

    static let scenarios = [
        Scenario(firstPosition: 0, queryCount: 1),    // first decode step
        Scenario(firstPosition: 15, queryCount: 1),   // last slot of block 0 (block size 16)
        Scenario(firstPosition: 16, queryCount: 1),   // first slot of block 1
        Scenario(firstPosition: 17, queryCount: 1),
        Scenario(firstPosition: 0, queryCount: 37),   // prefill chunk from the start
        Scenario(firstPosition: 20, queryCount: 5),   // a later chunk over keys already cached
    ]

    func testMatchesNaiveCausalAttention() {
        var random = TestRandom(seed: 0xA77E_4710)
        for configuration in Self.configurations {
            for scenario in Self.scenarios {
                check(configuration, scenario, random: &random)
            }
        }
    }

    /// A peaked score distribution (large query and key values) makes the running maximum change between tiles,
    /// exercising the online-softmax rescaling.
    func testPeakedScoresAcrossManyTiles() {
        var random = TestRandom(seed: 77)
        let configuration = Configuration(headDim: 8, headCount: 6, kvHeadCount: 2, blockSize: 4)
        check(configuration, Scenario(firstPosition: 0, queryCount: 37), random: &random, magnitude: 4)
        check(configuration, Scenario(firstPosition: 30, queryCount: 3), random: &random, magnitude: 4)
    }

    private func check(_ c: Configuration, _ s: Scenario, random: inout TestRandom, magnitude: Float = 1,
                       file: StaticString = #filePath, line: UInt = #line) {
        let layout = PagedKVLayout(blockSize: c.blockSize, kvHeadCount: c.kvHeadCount, headDim: c.headDim)
        let tokenCount = s.firstPosition + s.queryCount
        let blocksNeeded = (tokenCount + c.blockSize - 1) / c.blockSize
        let poolBlocks = blocksNeeded + 3
        // Shuffled block ids: the sequence's blocks are scattered through the pool, not in order.
        var table = Array(random.shuffled(Array(0..<poolBlocks)).prefix(blocksNeeded)).map(Int32.init)
        if blocksNeeded > 1 && table == table.sorted() { table.reverse() }
        if blocksNeeded == 1 && table[0] == 0 { table[0] = Int32(poolBlocks - 1) }

        let kvWidth = c.kvHeadCount * c.headDim, qWidth = c.headCount * c.headDim
        let keySourceStride = kvWidth + 5
        let keys = random.floats(tokenCount * keySourceStride, -magnitude, magnitude)
        let values = random.floats(tokenCount * keySourceStride, -magnitude, magnitude)
        var keyPool = [Float](repeating: .nan, count: poolBlocks * layout.blockStride)
        var valuePool = [Float](repeating: .nan, count: poolBlocks * layout.blockStride)
        keyPool.withUnsafeMutableBufferPointer { kp in
            valuePool.withUnsafeMutableBufferPointer { vp in
                layout.store(keys: keys, values: values, sourceStride: keySourceStride, count: tokenCount, firstPosition: 0,
                             blockTable: table, keyPool: kp.baseAddress!, valuePool: vp.baseAddress!)
            }
        }

        let queryStride = qWidth + 3, outputStride = qWidth + 7
        let query = random.floats(s.queryCount * queryStride, -magnitude, magnitude)
        var output = [Float](repeating: -12345, count: s.queryCount * outputStride)
        output.withUnsafeMutableBufferPointer { out in
            PagedAttention.run(query: query, queryStride: queryStride, queryCount: s.queryCount, firstPosition: s.firstPosition,
                               headCount: c.headCount, layout: layout, keyPool: keyPool, valuePool: valuePool,
                               blockTable: table, output: out.baseAddress!, outputStride: outputStride)
        }

        // Reference: keys/values taken from the source arrays (not the pool), softmax in Double.
        let group = c.headCount / c.kvHeadCount
        let scale = 1 / Double(c.headDim).squareRoot()
        var worst = 0.0
        for i in 0..<s.queryCount {
            let position = s.firstPosition + i
            for h in 0..<c.headCount {
                let kvHead = h / group
                var scores = [Double](repeating: 0, count: position + 1)
                for t in 0...position {
                    var dot = 0.0
                    for d in 0..<c.headDim {
                        dot += Double(query[i * queryStride + h * c.headDim + d]) * Double(keys[t * keySourceStride + kvHead * c.headDim + d])
                    }
                    scores[t] = dot * scale
                }
                let maxScore = scores.max()!
                let weights = scores.map { exp($0 - maxScore) }
                let total = weights.reduce(0, +)
                for d in 0..<c.headDim {
                    var expected = 0.0
                    for t in 0...position { expected += weights[t] * Double(values[t * keySourceStride + kvHead * c.headDim + d]) }
                    expected /= total
                    let actual = Double(output[i * outputStride + h * c.headDim + d])
                    let error = abs(actual - expected) / max(1, abs(expected))
                    if !(error <= worst) { worst = error.isNaN ? .infinity : error }
                }
            }
            // The padding between output rows is not written.
            for d in qWidth..<outputStride {
                XCTAssertEqual(output[i * outputStride + d], -12345, "\(c), \(s): output padding overwritten", file: file, line: line)
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(c), \(s), table \(table)", file: file, line: line)
    }
}

final class PagedKVLayoutTests: XCTestCase {
    func testStoreAndOffsetRoundTripThroughShuffledTable() {
        var random = TestRandom(seed: 2024)
        let layout = PagedKVLayout(blockSize: 4, kvHeadCount: 3, headDim: 8)
        XCTAssertEqual(layout.tokenStride, 24)
        XCTAssertEqual(layout.blockStride, 96)
        let poolBlocks = 10, tokenCount = 23   // 6 blocks, the last one partly filled
        let table = Array(random.shuffled(Array(0..<poolBlocks)).prefix(6)).map(Int32.init)
        XCTAssertNotEqual(table, table.sorted(), "the block table should be out of order")

        let stride = layout.tokenStride + 2
        let keys = random.floats(tokenCount * stride), values = random.floats(tokenCount * stride)
        var keyPool = [Float](repeating: .nan, count: poolBlocks * layout.blockStride)
        var valuePool = [Float](repeating: .nan, count: poolBlocks * layout.blockStride)
        // Two calls: a prefill of 10 tokens, then the rest from position 10.
        keyPool.withUnsafeMutableBufferPointer { kp in
            valuePool.withUnsafeMutableBufferPointer { vp in
                layout.store(keys: keys, values: values, sourceStride: stride, count: 10, firstPosition: 0,
                             blockTable: table, keyPool: kp.baseAddress!, valuePool: vp.baseAddress!)
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        layout.store(keys: k.baseAddress! + 10 * stride, values: v.baseAddress! + 10 * stride,
                                     sourceStride: stride, count: tokenCount - 10, firstPosition: 10,
                                     blockTable: table, keyPool: kp.baseAddress!, valuePool: vp.baseAddress!)
                    }
                }
            }
        }
        var written = Set<Int>()
        for p in 0..<tokenCount {
            let offset = layout.offset(position: p, blockTable: table)
            XCTAssertEqual(offset, Int(table[p / 4]) * layout.blockStride + (p % 4) * layout.tokenStride, "position \(p)")
            for e in 0..<layout.tokenStride {
                XCTAssertEqual(keyPool[offset + e], keys[p * stride + e], "key of position \(p), element \(e)")
                XCTAssertEqual(valuePool[offset + e], values[p * stride + e], "value of position \(p), element \(e)")
                written.insert(offset + e)
            }
        }
        // Nothing else in the pool was touched.
        for i in 0..<keyPool.count where !written.contains(i) {
            XCTAssertTrue(keyPool[i].isNaN && valuePool[i].isNaN, "pool element \(i) was written")
        }
    }
}
