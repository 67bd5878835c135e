import XCTest
@testable import EngineWorker

/// The prefix cache trusts no hash: with hash functions that collide on purpose, a cached block is reused only
/// when it holds the requested tokens right after the block just claimed.
final class BlockManagerTests: XCTestCase {
    /// Allocates blocks for `tokens` (whole blocks of 4), registers them as one sequence would, releases them (they
    /// stay cached) and returns them.
    private func cacheSequence(_ tokens: [Int32], in blocks: inout BlockManager) throws -> [Int32] {
        let table = try XCTUnwrap(blocks.allocate(tokens.count / 4))
        var chain = PrefixChain.empty
        for (i, block) in table.enumerated() {
            chain = blocks.register(block, tokens: tokens[(i * 4)..<(i * 4 + 4)], after: chain)
        }
        blocks.release(table)
        return table
    }

    /// Claims the cached prefix of `tokens` and gives the blocks back.
    private func claim(_ tokens: [Int32], in blocks: inout BlockManager) -> [Int32] {
        let (claimed, _) = blocks.claimCachedPrefix(of: tokens, maxBlocks: tokens.count / 4)
        blocks.release(claimed)
        return claimed
    }

    func testEqualPrefixesShareBlocks() throws {
        var blocks = BlockManager(blockCount: 8, blockSize: 4)
        let cached = try cacheSequence([1, 2, 3, 4, 5, 6, 7, 8], in: &blocks)
        XCTAssertEqual(claim([1, 2, 3, 4, 5, 6, 7, 8, 9], in: &blocks), cached)
        XCTAssertEqual(claim([1, 2, 3, 4, 0, 0, 0, 0], in: &blocks), [cached[0]])
        XCTAssertEqual(blocks.usedCount, 0)
        XCTAssertEqual(blocks.cachedCount, 2)
    }

    func testCollidingBlockWithOtherTokensIsNotReused() throws {
        // Every first block hashes alike, whatever its tokens.
        var blocks = BlockManager(blockCount: 8, blockSize: 4) { previous, _ in previous &+ 1 }
        _ = try cacheSequence([1, 2, 3, 4], in: &blocks)
        XCTAssertEqual(claim([9, 9, 9, 9, 0], in: &blocks), [], "a colliding block of other tokens was reused")
        // The colliding newcomer takes the hash over (the block it replaced is free again).
        let second = try cacheSequence([9, 9, 9, 9], in: &blocks)
        XCTAssertEqual(claim([9, 9, 9, 9, 0], in: &blocks), second)
        XCTAssertEqual(claim([1, 2, 3, 4, 0], in: &blocks), [])
        XCTAssertEqual(blocks.cachedCount, 1)
    }

    func testCollidingBlockAfterAnotherPrefixIsNotReused() throws {
        // The hash ignores the prefix, so equal second blocks after different first blocks collide.
        var blocks = BlockManager(blockCount: 8, blockSize: 4) { _, tokens in BlockManager.fnv1a(previous: 0, tokens: tokens) }
        let x = try cacheSequence([1, 1, 1, 1, 5, 6, 7, 8], in: &blocks)
        let y = try cacheSequence([2, 2, 2, 2, 5, 6, 7, 8], in: &blocks)
        // y's second block holds the tokens 5 6 7 8 as computed after 2 2 2 2: never valid after 1 1 1 1.
        XCTAssertEqual(claim([1, 1, 1, 1, 5, 6, 7, 8, 0], in: &blocks), [x[0]])
        XCTAssertEqual(claim([2, 2, 2, 2, 5, 6, 7, 8, 0], in: &blocks), y)
        XCTAssertEqual(blocks.usedCount, 0)
    }

    func testEquivalentBlockKeepsTheCachedChain() throws {
        // Two sequences compute the same prompt at once: the second one's blocks stay uncached, and its chain goes on
        // through the first one's blocks, so a block it registers after them is found after them.
        var blocks = BlockManager(blockCount: 8, blockSize: 4)
        let first = try XCTUnwrap(blocks.allocate(1)), second = try XCTUnwrap(blocks.allocate(2))
        let chain = blocks.register(first[0], tokens: [1, 2, 3, 4], after: .empty)
        let duplicate = blocks.register(second[0], tokens: [1, 2, 3, 4], after: .empty)
        XCTAssertEqual(duplicate, chain)
        _ = blocks.register(second[1], tokens: [5, 6, 7, 8], after: duplicate)
        blocks.release(first)
        blocks.release(second)
        XCTAssertEqual(claim([1, 2, 3, 4, 5, 6, 7, 8, 0], in: &blocks), [first[0], second[1]])
        XCTAssertEqual(blocks.cachedCount, 2)
        XCTAssertEqual(blocks.availableCount, 8)
    }
}
