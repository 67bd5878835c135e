import Kernels
import ModelFormats
import WireProtocol

/// How an engine is set up: KV-cache memory, block size and element type, prefix caching, and the scheduler's
/// per-step bounds.
public struct EngineConfiguration: Sendable {
    public var kvCacheBytes: Int
    public var blockSize: Int
    public var kvCacheDType: KVCacheDTypeChoice
    public var prefixCaching: Bool
    public var scheduler: SchedulerConfiguration

    public init(kvCacheBytes: Int, blockSize: Int = 16, kvCacheDType: KVCacheDTypeChoice = .auto, prefixCaching: Bool = true,
                scheduler: SchedulerConfiguration = SchedulerConfiguration()) {
        self.kvCacheBytes = kvCacheBytes
        self.blockSize = blockSize
        self.kvCacheDType = kvCacheDType
        self.prefixCaching = prefixCaching
        self.scheduler = scheduler
    }
}

/// What one step produced for one sequence: its new token and, if it ended, why.
public struct SequenceOutput: Sendable, Equatable {
    public var id: UInt64
    public var tokens: [Int32]
    /// Per token of `tokens`, when the request asked for log-probabilities; else empty.
    public var logprobs: [SampledToken]
    public var finishReason: FinishReason?
    public var promptTokens: Int
}

/// Counters the worker reports in its status.
public struct EngineStatistics: Sendable, Equatable {
    public var running: Int
    public var waiting: Int
    public var blocksUsed: Int
    public var blocksCached: Int
    public var blocksTotal: Int
    public var steps: Int
    public var preemptions: Int
    public var promptTokensAdmitted: Int
    public var prefixCacheHitTokens: Int
    /// Tokens actually run through the model (prefill chunks, decode tokens and recomputation).
    public var tokensComputed: Int
    /// Seconds spent in the model's forward pass, over all steps (the rest of a step is scheduling and sampling).
    public var modelSeconds: Double
}

/// The serving engine of one worker: continuous batching over a paged KV cache. Requests are added at any time;
/// each `step()` lets the scheduler plan a batch (decode tokens of running sequences plus prefill chunks of
/// waiting ones), the model runner execute it, and returns the tokens sampled. Not thread-safe: one engine thread
/// drives it.
public final class Engine: @unchecked Sendable {
    public let model: DecoderModel
    public let cache: KVCache
    public let configuration: EngineConfiguration
    private let scheduler: Scheduler
    private let runner: ModelRunner
    private var sequences: [UInt64: SequenceState] = [:]
    private var steps = 0
    private var preemptions = 0
    private var tokensComputed = 0
    private var modelSeconds = 0.0

    /// The tensor-parallel group this engine leads as rank 0 (nil: a single process holds the whole model).
    public let group: TensorParallelGroup?

    /// With `group`, `model` is rank 0's shard and every step is also run by the group's other ranks
    /// (`TensorParallelFollower`); use `checkedStep()` then, which reports a failed group. Throws when
    /// `configuration.kvCacheBytes` does not hold a single KV block of this model.
    public init(model: DecoderModel, configuration: EngineConfiguration, group: TensorParallelGroup? = nil) throws(EngineConfigurationError) {
        precondition(model.shard.isWhole == (group == nil), "a shard needs its group, and a group a shard")
        self.model = model
        self.configuration = configuration
        self.group = group
        cache = try Self.makeCache(model: model, configuration: configuration)
        scheduler = Scheduler(configuration: configuration.scheduler,
                              blocks: BlockManager(blockCount: cache.blockCount, blockSize: configuration.blockSize,
                                                   prefixCaching: configuration.prefixCaching),
                              slidingWindow: model.config.windowOfEveryLayer)
        runner = ModelRunner(model: model, cache: cache, group: group)
    }

    /// The KV cache of `model` (its shard's KV heads) within `configuration.kvCacheBytes`, its element type
    /// resolved for the model's weight precision.
    static func makeCache(model: DecoderModel, configuration: EngineConfiguration) throws(EngineConfigurationError) -> KVCache {
        let c = model.config
        let dtype = configuration.kvCacheDType.resolved(for: model.precision)
        let layout = PagedKVLayout(blockSize: configuration.blockSize, kvHeadCount: model.shard.kvHeadCount, headDim: c.headDim,
                                   dtype: dtype)
        let blockCount = try kvBlockCount(config: c, shard: model.shard, configuration: configuration, precision: model.precision)
        return KVCache(layerCount: c.layerCount, layout: layout, blockCount: blockCount)
    }

    /// How many KV blocks `configuration.kvCacheBytes` holds for `config` split as `shard` beside weights held in
    /// `precision` (at least one, or it throws). With tensor parallelism the budget is per rank, and every rank gets
    /// the same block count — sized by the largest shard, since uneven shards hold different numbers of KV heads but
    /// share the scheduler's block ids. Callable before the weights are loaded, to refuse a bad setting early.
    public static func kvBlockCount(config c: ModelConfig, shard: TensorParallelShard, configuration: EngineConfiguration,
                                    precision: WeightPrecision) throws(EngineConfigurationError) -> Int {
        let largest = PagedKVLayout(blockSize: configuration.blockSize, kvHeadCount: shard.largestKVHeadCount, headDim: c.headDim,
                                    dtype: configuration.kvCacheDType.resolved(for: precision))
        let bytesPerBlock = KVCache.bytesPerBlock(layerCount: c.layerCount, layout: largest)
        let blockCount = configuration.kvCacheBytes / bytesPerBlock
        guard blockCount >= 1 else {
            throw .kvCacheTooSmall(budgetBytes: configuration.kvCacheBytes, bytesPerBlock: bytesPerBlock, blockSize: configuration.blockSize)
        }
        return blockCount
    }

    public var config: ModelConfig { model.config }
    public var tokensCapacity: Int { cache.blockCount * cache.layout.blockSize }
    public var hasWork: Bool { scheduler.hasWork }

    /// The rules every request must satisfy here (also sent to gateways in `HelloAck`).
    public var limits: RequestLimits {
        RequestLimits(vocabSize: config.vocabSize, maxContext: config.maxPositionEmbeddings, kvBlocks: cache.blockCount,
                      blockSize: cache.layout.blockSize, slidingWindow: config.windowOfEveryLayer,
                      maxBatchedTokens: configuration.scheduler.maxBatchedTokens)
    }

    /// Checks a request before any work is done: what `add` would refuse (the one validator, `RequestLimits`).
    public func validate(_ request: GenerationRequest) throws(RequestRejection) {
        let limits = self.limits, sampling = request.sampling
        try limits.check(promptTokens: request.promptTokens, maxTokens: request.maxTokens)
        try limits.checkSampling(temperature: sampling.temperature, topP: sampling.topP, topK: sampling.topK,
                                 presencePenalty: sampling.presencePenalty, frequencyPenalty: sampling.frequencyPenalty,
                                 topLogprobs: sampling.topLogprobs)
    }

    /// Queues a request; it joins the running batch at the next step with room for it.
    public func add(_ request: GenerationRequest) throws(EngineError) {
        do throws(RequestRejection) { try validate(request) } catch { throw .rejected(error) }
        guard sequences[request.id] == nil else { throw .duplicateRequestID(request.id) }
        guard sequences.count < configuration.scheduler.capacity else { throw .overloaded(capacity: configuration.scheduler.capacity) }
        let sequence = SequenceState(request)
        sequences[request.id] = sequence
        scheduler.add(sequence)
    }

    /// Stops a request at once and frees its KV blocks. False if the engine does not know it.
    @discardableResult
    public func cancel(_ id: UInt64) -> Bool {
        guard sequences.removeValue(forKey: id) != nil else { return false }
        _ = scheduler.remove(id: id)
        return true
    }

    /// Runs one iteration: plan, execute, sample, retire finished sequences. (Traps if a tensor-parallel group
    /// fails: servers of a group use `checkedStep`.)
    public func step() -> [SequenceOutput] {
        try! checkedStep()
    }

    /// `step()`, reporting a failed tensor-parallel group (a rank died or stopped answering). After an error the
    /// engine cannot continue: fail the in-flight requests and stop.
    public func checkedStep() throws(TensorParallelError) -> [SequenceOutput] {
        let plan = scheduler.schedule()
        preemptions += plan.preempted.count
        guard !plan.isEmpty else { return [] }
        let (sampled, forwardSeconds) = try runner.execute(plan)
        modelSeconds += forwardSeconds
        scheduler.commit(plan)
        steps += 1
        tokensComputed += plan.tokenCount
        return sampled.map { sequence, sampledToken in
            let token = sampledToken.id
            sequence.append(token)
            let request = sequence.request
            var finish: FinishReason?
            if request.stopTokenIDs.contains(token) {
                finish = .stop
            } else if sequence.outputCount >= request.maxTokens {
                finish = .length
            }
            if let finish {
                scheduler.finish(sequence, finish)
                sequences[sequence.id] = nil
            }
            return SequenceOutput(id: sequence.id, tokens: [token], logprobs: sampledToken.logprob == nil ? [] : [sampledToken],
                                  finishReason: finish, promptTokens: sequence.promptCount)
        }
    }

    public var statistics: EngineStatistics {
        let blocks = scheduler.blocks
        return EngineStatistics(running: scheduler.running.count, waiting: scheduler.waiting.count, blocksUsed: blocks.usedCount,
                                blocksCached: blocks.cachedCount, blocksTotal: blocks.blockCount, steps: steps,
                                preemptions: preemptions, promptTokensAdmitted: scheduler.promptTokensAdmitted,
                                prefixCacheHitTokens: scheduler.prefixCacheHitTokens, tokensComputed: tokensComputed,
                                modelSeconds: modelSeconds)
    }
}

extension Engine {
    /// Runs one request to completion on an otherwise idle engine (the CLI and benchmarks use this), handing
    /// each token to `onToken` as it is sampled; `onToken` returns false to cancel.
    @discardableResult
    public func generate(_ request: GenerationRequest, onToken: (Int32) -> Bool) throws(EngineError) -> FinishReason {
        try add(request)
        while hasWork {
            for output in step() where output.id == request.id {
                for token in output.tokens where !onToken(token) {
                    cancel(request.id)
                    return .cancelled
                }
                if let finish = output.finishReason { return finish }
            }
        }
        return .cancelled
    }

    /// KV-cache bytes that hold `tokens` tokens of one sequence in `dtype` elements (rounded up to whole blocks).
    public static func kvBytes(forTokens tokens: Int, config: ModelConfig, dtype: KVCacheDType, blockSize: Int = 16) -> Int {
        let layout = PagedKVLayout(blockSize: blockSize, kvHeadCount: config.kvHeadCount, headDim: config.headDim, dtype: dtype)
        return (tokens + blockSize - 1) / blockSize * KVCache.bytesPerBlock(layerCount: config.layerCount, layout: layout)
    }
}
