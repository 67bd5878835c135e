#if canImport(Glibc)
import Glibc
#endif
import ProcessGroup

/// Vector sizes of the benchmark: SmolLM2-135M's hidden size, a larger hidden size, and 1M floats.
let benchmarkSizes = [576, 4096, 1 << 20]
let benchmarkWarmup = 100
let benchmarkIterations = 1000

/// `--bench`: rank 0 here, rank 1 a spawned copy of this executable; prints median/p10/p90 latency per size.
func runBenchmark(policy: WaitPolicy, peerCPUs: String?) -> Never {
    let group = "bench-\(getpid())"
    SharedMemorySegment.removeStale()
    // With --peer-cpus the peer starts through taskset (the affinity calls are GNU extensions Swift does not see),
    // which needs the real path: /proc/self/exe would name taskset itself.
    var resolved = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &resolved, resolved.count - 1)
    guard length > 0 else { fail("readlink /proc/self/exe failed", status: 2) }
    let selfPath = String(decoding: resolved[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let executable = peerCPUs == nil ? selfPath : "/usr/bin/taskset"
    var pid: pid_t = 0
    let words: [String] = (peerCPUs.map { [executable, "-c", $0, selfPath] } ?? [executable]) + ["bench-peer", "--group", group, "--spin", String(policy.spinIterations),
                           "--yield-us", String(policy.yieldTime.components.seconds * 1_000_000 + policy.yieldTime.components.attoseconds / 1_000_000_000_000)]

    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    let status = posix_spawn(&pid, executable, nil, nil, argv, environ)
    argv.forEach { free($0) }
    guard status == 0 else { fail("posix_spawn: \(String(cString: strerror(status)))", status: 2) }
    var rows: [String] = []
    do {
        let processGroup = try benchmarkGroup(group: group, rank: 0, policy: policy)
        for count in benchmarkSizes {
            var buffer = (0..<count).map { Float($0 % 7) }
            var samples: [Double] = []
            samples.reserveCapacity(benchmarkIterations)
            for iteration in 0..<(benchmarkWarmup + benchmarkIterations) {
                let start = monotonicNanoseconds()
                try processGroup.allReduceSum(&buffer)
                let elapsed = monotonicNanoseconds() - start
                if iteration >= benchmarkWarmup { samples.append(Double(elapsed) / 1000) }
            }
            samples.sort()
            let median = samples[samples.count / 2], p10 = samples[samples.count / 10], p90 = samples[samples.count * 9 / 10]
            let gigabytesPerSecond = Double(count * 4) / (median * 1000)
            rows.append("| \(count) | \(format(Double(count * 4) / 1024)) KiB | \(format(median)) | \(format(p10)) | \(format(p90)) | \(format(gigabytesPerSecond)) |")
        }
        processGroup.close()
    } catch {
        kill(pid, SIGKILL)
        fail("\(error)", status: 2)
    }
    var waitStatus: Int32 = 0
    waitpid(pid, &waitStatus, 0)
    print("All-reduce (sum, in place) between 2 processes through shared memory; \(benchmarkIterations) calls per size after "
          + "\(benchmarkWarmup) warm-up calls; wait policy: \(policy.spinIterations) pause spins, then sched_yield for \(policy.yieldTime)"
          + (peerCPUs.map { "; rank 1 on CPUs \($0)." } ?? "."))
    print("")
    print("| floats | size | median µs | p10 µs | p90 µs | vector GB/s at median |")
    print("|---:|---:|---:|---:|---:|---:|")
    rows.forEach { print($0) }
    exit(waitStatus == 0 ? 0 : 2)
}

/// `bench-peer`: rank 1 of the benchmark, the same calls in the same order.
func runBenchmarkPeer(group: String, policy: WaitPolicy) -> Never {
    do {
        let processGroup = try benchmarkGroup(group: group, rank: 1, policy: policy)
        for count in benchmarkSizes {
            var buffer = (0..<count).map { Float($0 % 5) }
            for _ in 0..<(benchmarkWarmup + benchmarkIterations) { try processGroup.allReduceSum(&buffer) }
        }
        processGroup.close()
        exit(0)
    } catch {
        fail("\(error)", status: 2)
    }
}

func benchmarkGroup(group: String, rank: Int, policy: WaitPolicy) throws(ProcessGroupError) -> ProcessGroup {
    try ProcessGroup(.init(group: group, rank: rank, size: 2, allReduceCapacity: benchmarkSizes.max()!,
                           connectTimeout: .seconds(30), operationTimeout: .seconds(30), waitPolicy: policy))
}

func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

func format(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return rounded >= 100 ? String(Int(rounded.rounded())) : String(rounded)
}

