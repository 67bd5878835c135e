import Kernels
import ModelFormats

/// Runs generation requests on one model with a paged KV cache. This first version serves one request at a
/// time: the prompt goes through as one prefill batch, then one decode step per token, each new token handed to
/// the caller as soon as it is sampled. Not thread-safe: one thread drives it.
public final class Engine: @unchecked Sendable {
    public let model: LlamaModel
    public let cache: KVCache
    private var allocator: BlockAllocator

    /// - Parameter kvCacheBytes: memory for the KV cache; cut into blocks of `blockSize` tokens.
    public init(model: LlamaModel, kvCacheBytes: Int, blockSize: Int = 16) {
        self.model = model
        let c = model.config
        let layout = PagedKVLayout(blockSize: blockSize, kvHeadCount: c.kvHeadCount, headDim: c.headDim)
        let perBlock = KVCache.bytesPerBlock(layerCount: c.layerCount, layout: layout)
        let blocks = max(1, kvCacheBytes / perBlock)
        cache = KVCache(layerCount: c.layerCount, layout: layout, blockCount: blocks)
        allocator = BlockAllocator(blockCount: blocks)
    }

    public var config: LlamaConfig { model.config }
    public var freeBlocks: Int { allocator.freeCount }
    public var tokensCapacity: Int { cache.blockCount * cache.layout.blockSize }

    /// Checks a request before any work is done: what `generate` would refuse.
    public func validate(_ request: GenerationRequest) throws(EngineError) {
        guard !request.promptTokens.isEmpty else { throw .emptyPrompt }
        if let bad = request.promptTokens.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw .tokenOutOfRange(bad, vocabSize: config.vocabSize)
        }
        let total = request.promptTokens.count + request.maxTokens
        guard total <= config.maxPositionEmbeddings else {
            throw .contextExceeded(promptTokens: request.promptTokens.count, maxTokens: request.maxTokens,
                                   contextLength: config.maxPositionEmbeddings)
        }
        let needed = blocksFor(tokens: total)
        guard needed <= cache.blockCount else { throw .insufficientKVCache(neededBlocks: needed, totalBlocks: cache.blockCount) }
    }

    /// Generates up to `maxTokens` tokens. `onToken` receives each token as it is sampled and returns false to
    /// cancel. Blocks are always returned to the allocator, whatever happens.
    @discardableResult
    public func generate(_ request: GenerationRequest, onToken: (Int32) -> Bool) throws(EngineError) -> FinishReason {
        try validate(request)
        guard request.maxTokens > 0 else { return .length }
        let blocks = allocator.allocate(blocksFor(tokens: request.promptTokens.count + request.maxTokens))!
        defer { allocator.release(blocks) }
        var sampler = Sampler(request.sampling)
        var batch = ForwardBatch()
        batch.append(tokens: request.promptTokens, firstPosition: 0, blockTable: blocks)
        var position = request.promptTokens.count
        for generated in 1...request.maxTokens {
            let logits = model.forward(batch, cache: cache)
            let token = logits.withUnsafeBufferPointer { sampler.sample($0.baseAddress!, count: config.vocabSize) }
            guard onToken(token) else { return .cancelled }
            if request.stopTokenIDs.contains(token) { return .stop }
            if generated == request.maxTokens { break }
            batch = ForwardBatch()
            batch.append(tokens: [token], firstPosition: position, blockTable: blocks)
            position += 1
        }
        return .length
    }

    private func blocksFor(tokens: Int) -> Int { (tokens + cache.layout.blockSize - 1) / cache.layout.blockSize }
}

extension Engine {
    /// KV-cache bytes that hold `tokens` tokens of one sequence (rounded up to whole blocks).
    public static func kvBytes(forTokens tokens: Int, config: LlamaConfig, blockSize: Int = 16) -> Int {
        let layout = PagedKVLayout(blockSize: blockSize, kvHeadCount: config.kvHeadCount, headDim: config.headDim)
        return (tokens + blockSize - 1) / blockSize * KVCache.bytesPerBlock(layerCount: config.layerCount, layout: layout)
    }
}
