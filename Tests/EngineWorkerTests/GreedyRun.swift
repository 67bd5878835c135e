import Kernels
import XCTest
@testable import EngineWorker

/// A greedy continuation computed straight on the model (no scheduler): the prompt prefilled in chunks of `chunk`
/// tokens over a fresh cache of `blockSize`-token blocks, then `count` argmax steps, each fed back.
struct GreedyRun {
    var tokens: [Int32] = []
    /// The logits each generated token was taken from.
    var stepLogits: [[Float]] = []

    init(model: DecoderModel, prompt: [Int32], count: Int, chunk: Int = .max, blockSize: Int = 16) throws {
        let c = model.config
        let layout = PagedKVLayout(blockSize: blockSize, kvHeadCount: c.kvHeadCount, headDim: c.headDim)
        let blockCount = (prompt.count + count + blockSize - 1) / blockSize
        let cache = KVCache(layerCount: c.layerCount, layout: layout, blockCount: blockCount)
        var allocator = BlockManager(blockCount: blockCount, blockSize: blockSize)
        let blocks = try XCTUnwrap(allocator.allocate(blockCount))
        var logits: [Float] = []
        for start in stride(from: 0, to: prompt.count, by: min(chunk, prompt.count)) {
            let end = min(start + chunk, prompt.count)
            var batch = ForwardBatch()
            batch.append(tokens: prompt[start..<end], firstPosition: start, blockTable: blocks, wantsLogits: end == prompt.count)
            logits = model.forward(batch, cache: cache)
        }
        for step in 0..<count {
            stepLogits.append(logits)
            tokens.append(Int32(VectorMath.argmax(logits, count: c.vocabSize)))
            guard step + 1 < count else { break }
            var decode = ForwardBatch()
            decode.append(tokens: [tokens[step]], firstPosition: prompt.count + step, blockTable: blocks)
            logits = model.forward(decode, cache: cache)
        }
    }
}
