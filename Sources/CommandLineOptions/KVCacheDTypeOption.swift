import ArgumentParser
import EngineWorker

extension KVCacheDTypeChoice: ExpressibleByArgument {}

/// `--kv-cache-dtype auto|f32|f16|bf16|fp8`: the element type of the paged KV cache, shared by the worker, serve,
/// generate and the benchmarks that build an engine. `auto` is f32 beside fp32 weights (the exact path stays
/// exact) and f16 otherwise.
public struct KVCacheDTypeOption: ParsableArguments {
    public init() {}

    @Option(name: .customLong("kv-cache-dtype"),
            help: "KV-cache elements: auto (f32 with --dtype fp32, else f16), f32, f16, bf16, or fp8 (E4M3, a scale per token and KV head). 16-bit holds twice the tokens of f32 in the same --kv-cache-memory.")
    public var kvCacheDType: KVCacheDTypeChoice = .auto
}
