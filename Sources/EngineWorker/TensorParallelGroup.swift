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
    /// pieces), the plan buffer the largest plan the scheduler can make. Every rank waits at most 60 s
    /// for the others inside a step (an all-reduce, or rank 0 publishing the next plan), so a rank that stops
    /// answering mid-step (stopped, deadlocked) fails the others with a clear error; only the wait for the next
    /// plan is unlimited (an idle server is not a failure). A rank that dies is noticed within milliseconds
    /// either way by the liveness checks. `spawnedRanks` are the processes rank 0 started (rank → pid), so one that
    /// dies before joining fails the join at once.
    public static func configuration(group: String, rank: Int, size: Int, config: ModelConfig, engine: EngineConfiguration,
                                     connectTimeout: Duration = .seconds(120), spawnedRanks: [Int: Int32] = [:]) -> ProcessGroup.Configuration {
        let s = engine.scheduler
        let tableWords = (config.maxPositionEmbeddings + engine.blockSize - 1) / engine.blockSize + 1
        let planWords = 8 + 2 * s.maxBatchedTokens + s.maxSequences * (4 + tableWords) + s.maxSequences
        return ProcessGroup.Configuration(group: group, rank: rank, size: size,
                                          allReduceCapacity: max(1, min(s.maxBatchedTokens, 512)) * config.hiddenSize,
                                          planCapacity: max(1 << 16, 4 * planWords), connectTimeout: connectTimeout,
                                          operationTimeout: .seconds(60), planTimeout: .seconds(86_400 * 365),
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

    /// Leaves the group (rank 0 also unlinks the segment, as does any rank once rank 0 is dead). Idempotent.
    public func close() { processGroup.close() }
}
