import ArgumentParser
import CommandLineOptions
import EngineWorker
import Foundation
import Kernels
import Logging
import ModelFormats

/// `scalellm-worker`: one engine worker process. Loads the model, allocates the KV cache and serves gateways
/// on a Unix domain socket until SIGTERM, SIGINT or the admin socket's `shutdown`, then removes its socket files.
@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scalellm-worker", abstract: "Run one ScaleLLM engine worker.")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Unix domain socket path to listen on.") var socket: String
    @Option(help: "Admin socket path (newline-delimited JSON: status, drain, shutdown; mode 0600; default: <socket>.admin). Tensor-parallel rank R > 0 uses <path>.rank<R>.")
    var adminSocket: String?
    @Option(help: "Kernel threads (default: all cores, or the cores a rank is pinned to).") var threads: Int?
    @Option(help: "Gateway connections served at once; beyond it a connection is refused with a typed error.")
    var maxConnections: Int = 64
    @Option(help: "Seconds between the status frames (heartbeats) sent to every gateway, idle or not.")
    var heartbeatInterval: Double = 1
    @Option(help: "Seconds the requests in flight may take to finish after SIGTERM/SIGINT before the worker stops anyway.")
    var gracePeriod: Double = 30
    @OptionGroup(title: "Engine") var engineOptions: EngineOptions
    @OptionGroup(title: "Logging") var logging: LogOptions
    @Option(help: .hidden) var rank: Int = 0
    @Option(help: .hidden) var group: String?

    func validate() throws {
        guard (1...100_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1…100000") }
        guard (0.01...60).contains(heartbeatInterval) else { throw ValidationError("--heartbeat-interval must be 0.01…60 seconds") }
        guard (0...86_400).contains(gracePeriod) else { throw ValidationError("--grace-period must be 0…86400 seconds") }
    }

    func run() throws {
        logging.bootstrap()
        let log = Logger(label: rank == 0 ? "scalellm.worker" : "scalellm.worker.rank\(rank)")
        let size = engineOptions.tensorParallelSize
        guard (0..<size).contains(rank), (rank == 0) || group != nil else {
            throw ValidationError("--rank \(rank) needs --tensor-parallel-size above it and --group")
        }
        let path = try modelOption.resolvedPath()
        let checkpoint: ModelCheckpoint
        do { checkpoint = try ModelCheckpoint(path: path) } catch { throw ValidationError(error.description) }
        var shard: TensorParallelShard?
        if size > 1 {
            do {
                shard = try TensorParallelShard(rank: rank, size: size, config: checkpoint.config,
                                                allowUneven: engineOptions.unevenTensorParallel)
            } catch { throw ValidationError(error.description) }
        }
        // A KV budget below one block is refused before any rank is started or any weight loaded.
        let configuration = engineOptions.configuration
        let precision = engineOptions.dtypeOption.dtype
        do {
            _ = try Engine.kvBlockCount(config: checkpoint.config, shard: shard ?? .whole(checkpoint.config), configuration: configuration,
                                        precision: precision)
        } catch { throw ValidationError(error.description) }
        // Each rank of a group pins itself to its share of the allowed cores (when there are enough) and uses that
        // many kernel threads. Ranks are spawned before rank 0 pins itself, so all start from the same allowed set.
        let allowed = CoreAffinity.allowedCPUs()
        var ranks: [Int32] = []
        var groupName = group ?? ""
        if size > 1 {
            if rank == 0 {
                groupName = "tp\(getpid())"
                ranks = try (1..<size).map { try spawnRank($0, group: groupName) }
                log.info("tensor parallel: \(size) ranks, rank pids \(([getpid()] + ranks).map(String.init).joined(separator: " "))")
            }
            if let cpus = CoreAffinity.cpus(rank: rank, size: size, allowed: allowed) {
                let pinned = CoreAffinity.pin(to: cpus)
                ParallelLoop.setThreadCount(threads ?? cpus.count)
                log.info("rank \(rank): \(pinned ? "pinned to" : "could not pin to") CPUs \(cpus.map(String.init).joined(separator: ",")), \(threads ?? cpus.count) kernel threads")
            } else {
                ParallelLoop.setThreadCount(threads ?? 1)
                log.info("rank \(rank): \(allowed.count) CPUs for \(size) ranks, not pinned, \(threads ?? 1) kernel threads")
            }
        } else {
            ParallelLoop.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        }
        defer { reap(ranks, log: log) }
        let started = Date()
        let availableMemory = ByteSize.availableMemory()
        let llama = try DecoderModel(checkpoint: checkpoint, precision: precision, shard: shard)
        // Weights held (mapped ones are paged in by the first steps) and the KV pool (touched as requests arrive)
        // must fit in what was available before loading, or the worker would be killed mid-request.
        do {
            try EngineConfigurationError.checkMemory(weightBytes: llama.weightBytes, kvCacheBytes: configuration.kvCacheBytes,
                                                     availableBytes: availableMemory)
        } catch { throw ValidationError("rank \(rank): \(error.description)") }
        let adminPath = adminSocket ?? socket + ".admin"
        // A rank > 0 binds its own admin socket before joining, so that a bad path fails the group's start.
        var follower: TensorParallelFollower?
        if rank > 0 {
            // Ctrl-C and a service manager's SIGTERM reach every rank: rank 0 stops the others with a stop plan.
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            let followerAdminPath = adminPath + ".rank\(rank)"
            do {
                follower = try TensorParallelFollower(model: llama, configuration: configuration, modelID: checkpoint.modelID,
                                                      adminSocket: .init(path: followerAdminPath, schedulerPath: adminPath))
            } catch { throw ValidationError("rank \(rank): admin socket \(followerAdminPath): \(error)") }
            log.info("rank \(rank): admin socket \(followerAdminPath)")
        }
        var tpGroup: TensorParallelGroup?
        if size > 1 {
            do {
                tpGroup = try TensorParallelGroup(TensorParallelGroup.configuration(
                    group: groupName, rank: rank, size: size, config: checkpoint.config, engine: configuration,
                    spawnedRanks: Dictionary(uniqueKeysWithValues: ranks.enumerated().map { ($0.offset + 1, $0.element) })))
            } catch {
                for pid in ranks { kill(pid, SIGKILL) }
                throw ValidationError("rank \(rank): \(error.description)")
            }
        }
        defer { tpGroup?.close() }
        if let follower, let tpGroup {
            log.info("rank \(rank) of \(size) joined group \(groupName)")
            do {
                let steps = try follower.run(in: tpGroup)
                log.info("rank \(rank): stopped by rank 0 after \(steps) steps")
                return
            } catch {
                log.error("rank \(rank): \(error.description); exiting")
                throw ExitCode.failure
            }
        }
        let engine = try Engine(model: llama, configuration: configuration, group: tpGroup)
        log.info("loaded \(path) (\(ByteSize(bytes: checkpoint.fileBytes)) file) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s: \(precision) weights \(ByteSize(bytes: llama.weightBytes)) held")
        log.info("KV cache: \(engine.cache.layout.dtype), \(engine.cache.blockCount) blocks of \(engine.cache.layout.blockSize) tokens = \(engine.tokensCapacity) tokens (\(ByteSize(bytes: engine.cache.bytes))), prefix caching \(configuration.prefixCaching ? "on" : "off"), at most \(configuration.scheduler.maxBatchedTokens) tokens and \(configuration.scheduler.maxSequences) sequences per step")

        var serverOptions = WorkerServer.Options()
        serverOptions.stopsOnSignals = true
        serverOptions.maxConnections = maxConnections
        serverOptions.heartbeatIntervalMilliseconds = UInt32(heartbeatInterval * 1000)
        serverOptions.gracePeriodMilliseconds = UInt64(gracePeriod * 1000)
        let server = try WorkerServer(engine: engine, modelID: checkpoint.modelID, socketPath: socket, adminSocketPath: adminPath,
                                      options: serverOptions, log: log)
        signal(SIGPIPE, SIG_IGN)
        log.info("listening on \(socket), admin socket \(adminPath)")
        try server.run()
        if let failure = server.failure {
            log.error("\(failure.description); failed the in-flight requests, exiting")
            throw ExitCode.failure
        }
        tpGroup?.publishStop()
        log.info("stopped")
    }

    /// Starts rank `rank` of the group: this executable again, with the same arguments plus `--rank` and `--group`.
    private func spawnRank(_ rank: Int, group: String) throws -> Int32 {
        let arguments = [CommandLine.arguments[0]] + CommandLine.arguments.dropFirst() + ["--rank", String(rank), "--group", group]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, "/proc/self/exe", nil, nil, argv, environ)
        guard code == 0 else { throw ValidationError("cannot start tensor-parallel rank \(rank): \(String(cString: strerror(code)))") }
        return pid
    }

    /// Waits (up to 10 s) for the spawned ranks to exit, then kills any that remain, so none outlives rank 0.
    private func reap(_ ranks: [Int32], log: Logger) {
        let deadline = Date().addingTimeInterval(10)
        var remaining = Set(ranks)
        while !remaining.isEmpty {
            for pid in remaining {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) != 0 { remaining.remove(pid) }
            }
            if remaining.isEmpty { break }
            if Date() > deadline {
                for pid in remaining {
                    log.warning("rank process \(pid) did not exit; killing it")
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                }
                break
            }
            usleep(10_000)
        }
    }
}
