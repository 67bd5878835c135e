import LoopIO
import Foundation
import WireProtocol

/// A tensor-parallel rank other than 0: executes rank 0's step plans on its shard until a stop plan arrives.
/// It keeps its own KV cache for its KV heads, addressed by the same block tables as rank 0's.
///
/// With an admin socket it answers `status` with its rank, role `follower`, model, dtype, KV-cache dtype, group
/// size and its own step statistics (steps, tokens computed, steps/s, step-time percentiles); `drain` and
/// `shutdown` are refused with the code `not_scheduler` and a message naming rank 0's admin socket, since only
/// rank 0 admits requests and stops the group.
public final class TensorParallelFollower: AdminTarget, @unchecked Sendable {
    /// This rank's admin socket and rank 0's (named in the refusals of `drain` and `shutdown`).
    public struct AdminSocket: Sendable {
        public var path: String
        public var schedulerPath: String

        public init(path: String, schedulerPath: String) {
            self.path = path
            self.schedulerPath = schedulerPath
        }
    }

    public let model: DecoderModel
    public let cache: KVCache
    private let modelID: String
    /// The admin socket and the loop that serves it on a thread of its own while `run` runs (the follower's own
    /// thread executes plans).
    private let admin: (server: AdminServer, loop: EventLoop)?
    private let schedulerAdminSocket: String
    private let startTime = monotonicSeconds()
    private let lock = NSLock()
    private var stepStatistics: StepStatistics
    private var stepCount = 0
    private var tokensComputed = 0

    /// `configuration` must be the one rank 0's engine uses (the block count is derived from it identically; a
    /// budget below one block throws `EngineConfigurationError`, as rank 0's `Engine` does).
    /// `adminSocket` is bound here, so that a bad or busy path fails the start (`WireError`), and served while
    /// `run` runs; its file is removed when `run` returns (or this follower is released without running).
    public init(model: DecoderModel, configuration: EngineConfiguration, modelID: String, adminSocket: AdminSocket? = nil) throws {
        self.model = model
        self.modelID = modelID
        cache = try Engine.makeCache(model: model, configuration: configuration)
        stepStatistics = StepStatistics(start: startTime)
        schedulerAdminSocket = adminSocket?.schedulerPath ?? ""
        if let adminSocket {
            let loop = try EventLoop()
            admin = (try AdminServer(path: adminSocket.path, loop: loop), loop)
        } else {
            admin = nil
        }
        try admin?.server.start(serving: self)
    }

    /// Runs `group`'s plans until rank 0 publishes stop (returns the number of steps run) or the group fails
    /// (throws), serving the admin socket meanwhile. Call once.
    @discardableResult
    public func run(in group: TensorParallelGroup) throws(TensorParallelError) -> Int {
        let adminStopped = DispatchSemaphore(value: 0)
        if let admin {
            let thread = Thread {
                admin.loop.run()
                adminStopped.signal()
            }
            thread.name = "admin"
            thread.start()
        }
        defer {
            if let admin {
                admin.loop.execute {
                    admin.server.stop()
                    admin.loop.stop()
                }
                adminStopped.wait()
            }
        }
        while true {
            switch try group.receive() {
            case .stop: return lock.withLock { stepCount }
            case .forward(let batch):
                let began = monotonicSeconds()
                _ = try model.forward(batch, cache: cache, allReduce: group.allReduceSum)
                let ended = monotonicSeconds()
                lock.withLock {
                    stepStatistics.record(end: ended, duration: ended - began, generated: 0, computed: batch.tokens.count)
                    stepCount += 1
                    tokensComputed += batch.tokens.count
                }
            }
        }
    }

    // MARK: Admin socket

    func adminStatus() -> WorkerStatus {
        let now = monotonicSeconds()
        let (steps, count, computed) = lock.withLock { (stepStatistics, stepCount, tokensComputed) }
        return WorkerStatus(rank: model.shard.rank, role: .follower(schedulerAdminSocket: schedulerAdminSocket), model: modelID,
                            dtype: model.precision.rawValue, kvCacheDType: cache.layout.dtype.rawValue,
                            tensorParallelSize: model.shard.size,
                            memory: .init(weightBytes: model.weightBytes, kvCacheBytes: cache.bytes, modelFileBytes: model.checkpointBytes),
                            uptimeSeconds: now - startTime,
                            stepCount: count, tokensComputed: computed, steps: steps, now: now)
    }

    func drain() throws(AdminRefusal) -> WorkerStatus.SchedulerState { throw refusal("drain") }

    func shutdown() throws(AdminRefusal) -> @Sendable () -> Void { throw refusal("shutdown") }

    private func refusal(_ command: String) -> AdminRefusal {
        AdminRefusal(code: "not_scheduler",
                     message: "rank \(model.shard.rank) of \(model.shard.size) only executes rank 0's steps: "
                         + "send \(command) to rank 0's admin socket at \(schedulerAdminSocket)")
    }
}
