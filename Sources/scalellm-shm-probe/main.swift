// scalellm-shm-probe: a second process for ProcessGroup's multi-process tests, and an all-reduce latency benchmark.
//
//   scalellm-shm-probe peer --group G --rank R --size N --capacity C --count K [--iterations I] [--plans P]
//       joins group G as rank R, receives P plans and checks them, then runs I all-reduces of K floats (0: until
//       the group fails) and checks every sum. Data and plans follow `ProbeData` (the tests use the same formulas).
//       Exit status: 0 done, 2 group error, 3 wrong plan, 4 wrong sum, 64 bad arguments.
//   scalellm-shm-probe create-and-exit --group G
//       creates G's segment and exits without closing it, leaving a stale segment (a crashed run).
//   scalellm-shm-probe --bench [--spin N] [--yield-us N] [--peer-cpus LIST]
//       spawns itself as rank 1 and prints a markdown table of all-reduce latencies between the two processes
//       (optionally with another WaitPolicy; --peer-cpus starts rank 1 under `taskset -c LIST`, and
//       `taskset -c 0 scalellm-shm-probe --bench --peer-cpus 1` pins the ranks to separate CPUs).
#if canImport(Glibc)
import Glibc
#endif
import ProcessGroup

let arguments = Array(CommandLine.arguments.dropFirst())

func fail(_ message: String, status: Int32) -> Never {
    var standardError = FileOutput(fd: 2)
    print("scalellm-shm-probe: \(message)", to: &standardError)
    exit(status)
}

func option(_ name: String, default fallback: Int? = nil) -> Int {
    if let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let value = Int(arguments[i + 1]) { return value }
    if let fallback { return fallback }
    fail("missing \(name)", status: 64)
}

func stringOption(_ name: String) -> String {
    if let i = arguments.firstIndex(of: name), i + 1 < arguments.count { return arguments[i + 1] }
    fail("missing \(name)", status: 64)
}

func benchmarkPolicy() -> WaitPolicy {
    let defaults = WaitPolicy()
    let yield = option("--yield-us", default: Int(defaults.yieldTime.components.attoseconds / 1_000_000_000_000))
    return WaitPolicy(spinIterations: option("--spin", default: defaults.spinIterations), yieldTime: .microseconds(yield))
}

switch arguments.first {
case "peer":
    runPeer(group: stringOption("--group"), rank: option("--rank"), size: option("--size"), capacity: option("--capacity"),
            count: option("--count"), iterations: option("--iterations", default: 0), plans: option("--plans", default: 0))
case "create-and-exit":
    do {
        let name = try SharedMemorySegment.name(group: stringOption("--group"))
        let segment = try SharedMemorySegment.create(name: name, payloadSize: 4096, layoutVersion: 0) { _ in }
        withExtendedLifetime(segment) { _exit(0) }  // no close, no unlink: what a crash leaves behind
    } catch {
        fail("\(error)", status: 2)
    }
case "--bench":
    runBenchmark(policy: benchmarkPolicy(),
                 peerCPUs: arguments.firstIndex(of: "--peer-cpus").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil })
case "bench-peer":
    runBenchmarkPeer(group: stringOption("--group"), policy: benchmarkPolicy())
default:
    fail("usage: scalellm-shm-probe peer … | create-and-exit --group G | --bench", status: 64)
}
