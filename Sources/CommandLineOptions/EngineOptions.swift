import ArgumentParser
import EngineWorker

/// The engine's command-line settings, shared by `scalellm-worker` (which uses them) and `scalellm serve` (which
/// passes them on to the worker it starts), so both spell and check them the same way.
public struct EngineOptions: ParsableArguments {
    public init() {}

    @Option(help: "KV-cache memory: bytes (512MiB, 2GiB) or a fraction of available memory (0.2).")
    public var kvCacheMemory: String = "256MiB"
    @Option(help: "Tokens per KV-cache block.") public var blockSize: Int = 16
    @OptionGroup public var kvCacheDTypeOption: KVCacheDTypeOption
    @Option(help: "Most tokens computed in one engine step (decode tokens plus prefill chunks).")
    public var maxNumBatchedTokens: Int = 512
    @Option(help: "Most sequences running at once.") public var maxNumSeqs: Int = 64
    @Option(help: "Most sequences waiting to run; beyond running + waiting, requests are refused as overloaded.")
    public var maxWaitingSeqs: Int = 256
    @Flag(help: "Do not reuse the KV blocks of shared prompt prefixes.") public var noPrefixCaching = false
    @OptionGroup public var dtypeOption: DTypeOption
    @Option(help: "Worker processes (ranks) that split each layer's attention heads and MLP between them; the model's KV heads, attention heads and intermediate size must divide by it. --kv-cache-memory is per rank.")
    public var tensorParallelSize: Int = 1
    @Flag(help: "Split heads by whole KV groups even when they do not divide by the tensor-parallel size (ranks get unequal shares).")
    public var unevenTensorParallel = false

    public func validate() throws {
        guard ByteSize(parsing: kvCacheMemory) != nil else { throw ValidationError("--kv-cache-memory '\(kvCacheMemory)' is not a size") }
        guard tensorParallelSize >= 1 else { throw ValidationError("--tensor-parallel-size must be at least 1") }
        guard blockSize >= 1, maxNumBatchedTokens >= 1, maxNumSeqs >= 1, maxWaitingSeqs >= 0 else {
            throw ValidationError("--block-size, --max-num-batched-tokens and --max-num-seqs must be at least 1, --max-waiting-seqs at least 0")
        }
    }

    public var configuration: EngineConfiguration {
        EngineConfiguration(kvCacheBytes: ByteSize(parsing: kvCacheMemory)!.bytes, blockSize: blockSize,
                            kvCacheDType: kvCacheDTypeOption.kvCacheDType, prefixCaching: !noPrefixCaching,
                            scheduler: SchedulerConfiguration(maxBatchedTokens: maxNumBatchedTokens, maxSequences: maxNumSeqs,
                                                              maxWaiting: maxWaitingSeqs))
    }

    /// The same settings as worker command-line arguments.
    public var arguments: [String] {
        ["--kv-cache-memory", kvCacheMemory, "--block-size", String(blockSize), "--kv-cache-dtype", kvCacheDTypeOption.kvCacheDType.rawValue,
         "--max-num-batched-tokens", String(maxNumBatchedTokens),
         "--max-num-seqs", String(maxNumSeqs), "--max-waiting-seqs", String(maxWaitingSeqs), "--dtype", dtypeOption.dtype.rawValue] + (noPrefixCaching ? ["--no-prefix-caching"] : [])
            + (tensorParallelSize == 1 ? [] : ["--tensor-parallel-size", String(tensorParallelSize)])
            + (unevenTensorParallel ? ["--uneven-tensor-parallel"] : [])
    }
}
