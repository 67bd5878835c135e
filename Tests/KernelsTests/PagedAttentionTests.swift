import TestSupport
import XCTest
@testable import Kernels

/// PagedAttention against a naive causal softmax attention computed in Double, with keys and values stored
/// through a shuffled block table into a pool whose unused bytes are all ones (NaN in every element type, and in
/// the fp8 scales, so any read outside the sequence's cache shows up in the output), for every KV element type at
/// every instruction-set level the machine has.
///
/// Two references per output: attention over the keys and values as the cache rounds them (`KVRounding`), which
/// the kernel must match to float32 arithmetic (1e-5, as the float32 cache always had: it reads exactly those
/// values); and attention over the unrounded floats, which it must match within the bound the rounding implies.
/// With every stored element within u · M of its float (u the type's unit roundoff, M the largest magnitude of its
/// head, Mk and Mv over the keys and values of the KV head), a score moves by at most Δ = u · Σ|q| · Mk / √d, each
/// softmax weight by a factor within e^±2Δ, so an output moves by at most u · Mv + (e^2Δ − 1) · Mv.
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
        var worst: [KVCacheDType: Double] = [:]
        for configuration in Self.configurations {
            for scenario in Self.scenarios {
                worst.merge(check(configuration, scenario, random: &random), uniquingKeysWith: max)
            }
        }
        print("paged attention, largest error against the unrounded f32 reference (relative to max(1, |expected|)): "
              + KVCacheDType.allCases.map { "\($0) \(String(format: "%.2e", worst[$0]!))" }.joined(separator: ", "))
    }

    /// A peaked score distribution (large query and key values) makes the running maximum change between tiles,
    /// exercising the online-softmax rescaling.
    func testPeakedScoresAcrossManyTiles() {
        var random = TestRandom(seed: 77)
        let configuration = Configuration(headDim: 8, headCount: 6, kvHeadCount: 2, blockSize: 4)
        check(configuration, Scenario(firstPosition: 0, queryCount: 37), random: &random, magnitude: 4)
        check(configuration, Scenario(firstPosition: 30, queryCount: 3), random: &random, magnitude: 4)
    }

    /// Sliding windows (starting inside a block, and whole blocks behind them, which are overwritten with NaN
    /// after the store so that reading them would show), soft-capped scores that saturate, and another scale.
    func testSlidingWindowSoftCapAndScale() {
        var random = TestRandom(seed: 78)
        let configuration = Configuration(headDim: 40, headCount: 4, kvHeadCount: 2, blockSize: 4)
        for window in [1, 5, 17] {
            for scenario in [Scenario(firstPosition: 30, queryCount: 1), Scenario(firstPosition: 0, queryCount: 37),
                             Scenario(firstPosition: 20, queryCount: 5)] {
                check(configuration, scenario, random: &random, rule: PagedAttention.ScoreRule(scale: 0.3, window: window))
            }
        }
        check(configuration, Scenario(firstPosition: 0, queryCount: 37), random: &random, magnitude: 4,
              rule: PagedAttention.ScoreRule(scale: 0.5, softCap: 2))
        check(configuration, Scenario(firstPosition: 20, queryCount: 5), random: &random, magnitude: 4,
              rule: PagedAttention.ScoreRule(scale: 0.5, softCap: 2, window: 6))
    }

    /// Checks one set of random keys, values and queries with every element type at every level, attending as
    /// `rule` says (default: every earlier key, `head_dim^-0.5`); returns the largest error against the unrounded
    /// reference per type.
    @discardableResult
    private func check(_ c: Configuration, _ s: Scenario, random: inout TestRandom, magnitude: Float = 1,
                       rule: PagedAttention.ScoreRule? = nil,
                       file: StaticString = #filePath, line: UInt = #line) -> [KVCacheDType: Double] {
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
        let queryStride = qWidth + 3, outputStride = qWidth + 7
        let query = random.floats(s.queryCount * queryStride, -magnitude, magnitude)
        let group = c.headCount / c.kvHeadCount
        let scale = Double(rule?.scale ?? Float(1 / Double(c.headDim).squareRoot()))
        /// The first position a query at `position` sees.
        func lowest(_ position: Int) -> Int { rule?.window.map { max(0, position - $0 + 1) } ?? 0 }

        // Keys and values per KV head and token, unrounded or as the cache rounds them.
        func heads(_ source: [Float], _ round: ([Float]) -> [Double]) -> [[[Double]]] {
            (0..<c.kvHeadCount).map { h in
                (0..<tokenCount).map { t in round(Array(source[(t * keySourceStride + h * c.headDim)...].prefix(c.headDim))) }
            }
        }
        /// Softmax attention in Double of every query row and head: `[row][head][element]`.
        func attention(_ k: [[[Double]]], _ v: [[[Double]]]) -> [[[Double]]] {
            (0..<s.queryCount).map { i in
                let position = s.firstPosition + i
                return (0..<c.headCount).map { h in
                    let q = query[(i * queryStride + h * c.headDim)...].prefix(c.headDim).map(Double.init)
                    let visible = Array(lowest(position)...position)
                    let scores = visible.map { t in
                        let score = zip(q, k[h / group][t]).reduce(0) { $0 + $1.0 * $1.1 } * scale
                        return rule?.softCap.map { Double($0) * tanh(score / Double($0)) } ?? score
                    }
                    let maxScore = scores.max()!
                    let weights = scores.map { exp($0 - maxScore) }
                    let total = weights.reduce(0, +)
                    var out = [Double](repeating: 0, count: c.headDim)
                    for (w, t) in zip(weights, visible) { for d in 0..<c.headDim { out[d] += w * v[h / group][t][d] } }
                    return out.map { $0 / total }
                }
            }
        }
        let exactKeys = heads(keys) { $0.map(Double.init) }, exactValues = heads(values) { $0.map(Double.init) }
        let overExact = attention(exactKeys, exactValues)
        let largestKey = exactKeys.map { $0.map { $0.map(abs).max()! } }, largestValue = exactValues.map { $0.map { $0.map(abs).max()! } }

        var worstExact: [KVCacheDType: Double] = [:]
        for dtype in KVCacheDType.allCases {
            let overRounded = attention(heads(keys) { KVRounding.round($0, dtype) }, heads(values) { KVRounding.round($0, dtype) })
            let u = KVRounding.unitRoundoff(dtype)
            let layout = PagedKVLayout(blockSize: c.blockSize, kvHeadCount: c.kvHeadCount, headDim: c.headDim, dtype: dtype)
            for isa in InstructionSet.available {
                let context = "\(c), \(s), \(dtype), \(isa)"
                var keyPool = [UInt8](repeating: 0xFF, count: poolBlocks * layout.blockBytes)
                var valuePool = keyPool
                keyPool.withUnsafeMutableBytes { kp in
                    valuePool.withUnsafeMutableBytes { vp in
                        layout.store(keys: keys, values: values, sourceStride: keySourceStride, count: tokenCount, firstPosition: 0,
                                     blockTable: table, keyPool: kp.baseAddress!, valuePool: vp.baseAddress!, instructionSet: isa)
                    }
                }
                // Blocks wholly behind every query's window must not be read: poison them.
                for (index, block) in table.enumerated() where (index + 1) * c.blockSize <= lowest(s.firstPosition) {
                    let bytes = Int(block) * layout.blockBytes..<(Int(block) + 1) * layout.blockBytes
                    keyPool.replaceSubrange(bytes, with: repeatElement(0xFF, count: bytes.count))
                    valuePool.replaceSubrange(bytes, with: repeatElement(0xFF, count: bytes.count))
                }
                var output = [Float](repeating: -12345, count: s.queryCount * outputStride)
                output.withUnsafeMutableBufferPointer { out in
                    PagedAttention.run(query: query, queryStride: queryStride, queryCount: s.queryCount, firstPosition: s.firstPosition,
                                       headCount: c.headCount, layout: layout, keyPool: keyPool, valuePool: valuePool,
                                       blockTable: table, scores: rule, output: out.baseAddress!, outputStride: outputStride,
                                       instructionSet: isa)
                }
                var worstRounded = 0.0
                for i in 0..<s.queryCount {
                    let position = s.firstPosition + i
                    for h in 0..<c.headCount {
                        let q = query[(i * queryStride + h * c.headDim)...].prefix(c.headDim)
                        let seen = lowest(position)...position
                        let mk = largestKey[h / group][seen].max()!, mv = largestValue[h / group][seen].max()!
                        let delta = u * q.reduce(0) { $0 + abs(Double($1)) } * mk * scale
                        let bound = u * mv + (exp(2 * delta) - 1) * mv
                        for d in 0..<c.headDim {
                            let actual = Double(output[i * outputStride + h * c.headDim + d])
                            let expected = overRounded[i][h][d], exact = overExact[i][h][d]
                            let rounded = abs(actual - expected) / max(1, abs(expected))
                            if !(rounded <= worstRounded) { worstRounded = rounded.isNaN ? .infinity : rounded }
                            let error = abs(actual - exact)
                            if !(error <= bound + 1e-5 * max(1, abs(exact))) {
                                XCTFail("\(context): query \(i) head \(h) element \(d) is \(error) from the unrounded reference, "
                                        + "beyond the bound \(bound)", file: file, line: line)
                            }
                            worstExact[dtype] = max(worstExact[dtype] ?? 0, error / max(1, abs(exact)))
                        }
                    }
                    // The padding between output rows is not written.
                    for d in qWidth..<outputStride {
                        XCTAssertEqual(output[i * outputStride + d], -12345, "\(context): output padding overwritten", file: file, line: line)
                    }
                }
                XCTAssertLessThanOrEqual(worstRounded, 1e-5, "\(context), table \(table)", file: file, line: line)
            }
        }
        return worstExact
    }
}

/// Storing into the paged layout: every element type is written where the layout says, rounded as `KVRounding`
/// rounds (the C encoders against the formats' definitions), at every instruction-set level, and nothing else in
/// the pool is touched.
final class PagedKVLayoutTests: XCTestCase {
    func testBlockBytes() {
        let f32 = PagedKVLayout(blockSize: 4, kvHeadCount: 3, headDim: 8)
        XCTAssertEqual(f32.tokenStride, 24)
        XCTAssertEqual(f32.blockBytes, 4 * 96)
        XCTAssertEqual(PagedKVLayout(blockSize: 4, kvHeadCount: 3, headDim: 8, dtype: .f16).blockBytes, 2 * 96)
        XCTAssertEqual(PagedKVLayout(blockSize: 4, kvHeadCount: 3, headDim: 8, dtype: .bf16).blockBytes, 2 * 96)
        XCTAssertEqual(PagedKVLayout(blockSize: 4, kvHeadCount: 3, headDim: 8, dtype: .fp8).blockBytes, 96 + 4 * 4 * 3,
                       "codes, then a float scale per token and KV head")
    }

    func testStoreRoundTripsThroughShuffledTable() {
        for dtype in KVCacheDType.allCases {
            for isa in InstructionSet.available {
                // 40 = 16 + 16 + 8: both the vector and the padded-tail paths of the encoders.
                for headDim in [8, 40] { roundTrip(dtype, isa, headDim: headDim) }
            }
        }
    }

    private func roundTrip(_ dtype: KVCacheDType, _ isa: InstructionSet, headDim: Int) {
        var random = TestRandom(seed: 2024)
        let layout = PagedKVLayout(blockSize: 4, kvHeadCount: 3, headDim: headDim, dtype: dtype)
        let context = "\(dtype), \(isa), head \(headDim)"
        let poolBlocks = 10, tokenCount = 23   // 6 blocks, the last one partly filled
        let table = Array(random.shuffled(Array(0..<poolBlocks)).prefix(6)).map(Int32.init)
        XCTAssertNotEqual(table, table.sorted(), "the block table should be out of order")

        let stride = layout.tokenStride + 2
        // Uniform values, with magnitudes spread over 2^-20 ... 2^4 in every other token (subnormal halves, fp8
        // codes over the whole exponent range).
        var keys = random.floats(tokenCount * stride), values = random.floats(tokenCount * stride)
        for i in stride * tokenCount / 2 ..< stride * tokenCount where i % 2 == 0 {
            keys[i] *= Float(sign: .plus, exponent: random.int(25) - 20, significand: 1)
            values[i] *= Float(sign: .plus, exponent: random.int(25) - 20, significand: 1)
        }
        var keyPool = [UInt8](repeating: 0xFF, count: poolBlocks * layout.blockBytes)
        var valuePool = keyPool
        // Two calls: a prefill of 10 tokens, then the rest from position 10.
        keyPool.withUnsafeMutableBytes { kp in
            valuePool.withUnsafeMutableBytes { vp in
                layout.store(keys: keys, values: values, sourceStride: stride, count: 10, firstPosition: 0,
                             blockTable: table, keyPool: kp.baseAddress!, valuePool: vp.baseAddress!, instructionSet: isa)
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        layout.store(keys: k.baseAddress! + 10 * stride, values: v.baseAddress! + 10 * stride,
                                     sourceStride: stride, count: tokenCount - 10, firstPosition: 10,
                                     blockTable: table, keyPool: kp.baseAddress!, valuePool: vp.baseAddress!, instructionSet: isa)
                    }
                }
            }
        }
        var written = Set<Int>()
        for p in 0..<tokenCount {
            for head in 0..<layout.kvHeadCount {
                let range = (p * stride + head * headDim)..<(p * stride + (head + 1) * headDim)
                let expectedKeys = KVRounding.round(Array(keys[range]), dtype)
                let expectedValues = KVRounding.round(Array(values[range]), dtype)
                for d in 0..<headDim {
                    let e = head * headDim + d
                    XCTAssertEqual(KVRounding.stored(keyPool, layout, table: table, position: p, element: e), expectedKeys[d],
                                   "\(context): key of position \(p), element \(e)")
                    XCTAssertEqual(KVRounding.stored(valuePool, layout, table: table, position: p, element: e), expectedValues[d],
                                   "\(context): value of position \(p), element \(e)")
                }
            }
            written.formUnion(KVRounding.bytes(layout, table: table, position: p))
        }
        // Nothing else in the pool was touched.
        for i in 0..<keyPool.count where !written.contains(i) {
            XCTAssertTrue(keyPool[i] == 0xFF && valuePool[i] == 0xFF, "\(context): pool byte \(i) was written")
        }
    }

    /// Ties round to even, f16 saturates at its largest finite value, bf16 keeps NaN: read back from the pool.
    func testRoundingEdgeCases() {
        let cases: [(KVCacheDType, [Float], [Float])] = [
            (.f16, [1 + 0x1p-11, 1 + 3 * 0x1p-11, 70_000, -70_000, 0x1p-24, 0x1p-26, 65_519, 0.1],
             [1, 1 + 0x1p-9, 65_504, -65_504, 0x1p-24, 0, 65_504, 0.0999755859375]),
            (.bf16, [1 + 0x1p-8, 1 + 3 * 0x1p-8, 70_000, -0.0, .nan, .infinity, 3, -1 - 0x1p-8 - 0x1p-20],
             [1, 1 + 0x1p-6, 70_144, -0.0, .nan, .infinity, 3, -1 - 0x1p-7]),
        ]
        for (dtype, input, expected) in cases {
            for isa in InstructionSet.available {
                let layout = PagedKVLayout(blockSize: 1, kvHeadCount: 1, headDim: input.count, dtype: dtype)
                var keyPool = [UInt8](repeating: 0, count: layout.blockBytes), valuePool = keyPool
                keyPool.withUnsafeMutableBytes { kp in
                    valuePool.withUnsafeMutableBytes { vp in
                        layout.store(keys: input, values: input, sourceStride: input.count, count: 1, firstPosition: 0,
                                     blockTable: [0], keyPool: kp.baseAddress!, valuePool: vp.baseAddress!, instructionSet: isa)
                    }
                }
                for (e, value) in expected.enumerated() {
                    let stored = KVRounding.stored(keyPool, layout, table: [0], position: 0, element: e)
                    XCTAssertTrue(stored == Double(value) && stored.sign == Double(value).sign || stored.isNaN && value.isNaN,
                                  "\(dtype), \(isa): \(input[e]) stored as \(stored), expected \(value)")
                }
            }
        }
    }
}
