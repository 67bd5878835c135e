import ModelFormats
import ProcessGroup

/// One rank's link to the other ranks of a tensor-parallel worker group: the all-reduce the sharded forward pass
/// needs (in pieces when a step is larger than the segment's buffer) and rank 0's step-plan broadcast, over a
/// `ProcessGroup` (shared memory). Every failure (a rank died, left, or stopped answering) surfaces as
/// `TensorParallelError.groupFailed` with the process group's description; the group is unusable afterwards.
public final class TensorParallelGroup: @unchecked Sendable {
    public let processGroup: ProcessGroup
    public var rank: Int { processGroup.rank }
    public var size: Int { processGroup.size }

    /// Joins the group (waits for all ranks; rank 0 creates the segment and removes stale ones first).
    public init(_ configuration: ProcessGroup.Configuration) throws(TensorParallelError) {
        do { processGroup = try ProcessGroup(configuration) } catch { throw .groupFailed(error.description) }
    }

    /// The process-group settings for `rank` of a worker group serving `config` with `engine`'s step bounds: the
    /// all-reduce buffer holds one step's hidden states (`maxBatchedTokens × hidden`; larger steps are reduced in
    /// pieces), the plan buffer the largest plan the scheduler can make. Rank 0 waits at most 60 s for any
    /// operation (a step of the others); other ranks wait for plans without a time limit (an idle server is not
    /// a failure) — a rank that dies is noticed within milliseconds either way by the liveness checks.
    /// `spawnedRanks` are the processes rank 0 started (rank → pid), so one that dies before joining fails the join at once.
    public static func configuration(group: String, rank: Int, size: Int, config: LlamaConfig, engine: EngineConfiguration,
                                     connectTimeout: Duration = .seconds(120), spawnedRanks: [Int: Int32] = [:]) -> ProcessGroup.Configuration {
        let s = engine.scheduler
        let tableWords = (config.maxPositionEmbeddings + engine.blockSize - 1) / engine.blockSize + 1
        let planWords = 8 + 2 * s.maxBatchedTokens + s.maxSequences * (4 + tableWords) + s.maxSequences
        return ProcessGroup.Configuration(group: group, rank: rank, size: size,
                                          allReduceCapacity: max(1, min(s.maxBatchedTokens, 512)) * config.hiddenSize,
                                          planCapacity: max(1 << 16, 4 * planWords), connectTimeout: connectTimeout,
                                          operationTimeout: rank == 0 ? .seconds(60) : .seconds(86_400 * 365),
                                          spawnedPeers: spawnedRanks)
    }

    /// Sums `buffer` element-wise across the ranks, in pieces of the segment's capacity.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(TensorParallelError) {
        let capacity = processGroup.allReduce.capacity
        var start = 0
        repeat {
            let end = min(buffer.count, start + capacity)
            do {
                try processGroup.allReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[start..<end]))
            } catch { throw .groupFailed(error.description) }
            start = end
        } while start < buffer.count
    }

    /// Rank 0: sends the next step's plan to the other ranks.
    func publish(_ plan: StepPlanCodec.Plan) throws(TensorParallelError) {
        do { try processGroup.publishPlan(StepPlanCodec.encode(plan)) } catch { throw .groupFailed(error.description) }
    }

    /// Other ranks: the next step's plan from rank 0.
    func receive() throws(TensorParallelError) -> StepPlanCodec.Plan {
        let bytes: [UInt8]
        do { bytes = try processGroup.receivePlan() } catch { throw .groupFailed(error.description) }
        return try StepPlanCodec.decode(bytes)
    }

    /// Rank 0: tells the other ranks to stop (best effort: a failed group has no one to tell).
    public func publishStop() { try? publish(.stop) }

    /// Leaves the group (rank 0 also unlinks the segment). Idempotent.
    public func close() { processGroup.close() }
}

/// A tensor-parallel rank other than 0: executes rank 0's step plans on its shard until a stop plan arrives.
/// It keeps its own KV cache for its KV heads, addressed by the same block tables as rank 0's.
public final class TensorParallelFollower: @unchecked Sendable {
    public let model: LlamaModel
    public let cache: KVCache
    public let group: TensorParallelGroup

    /// `configuration` must be the one rank 0's engine uses (the block count is derived from it identically).
    public init(model: LlamaModel, configuration: EngineConfiguration, group: TensorParallelGroup) {
        self.model = model
        cache = Engine.makeCache(model: model, configuration: configuration)
        self.group = group
    }

    /// Runs plans until rank 0 publishes stop (returns the number of steps run) or the group fails (throws).
    @discardableResult
    public func run() throws(TensorParallelError) -> Int {
        var steps = 0
        while true {
            switch try group.receive() {
            case .stop: return steps
            case .forward(let batch):
                _ = try model.forward(batch, cache: cache, allReduce: group.allReduceSum)
                steps += 1
            }
        }
    }
}
