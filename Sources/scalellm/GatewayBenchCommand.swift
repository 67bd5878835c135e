import ArgumentParser
import Foundation
import ServingBenchmark
import WireProtocol

/// `scalellm bench gateway`: what the gateway adds. The same streams (identical token-id prompts, greedy,
/// fixed length) are driven directly over the engine worker's Unix socket and through the gateway's HTTP API,
/// for several rounds (alternating which goes first); the table shows the added time to first token, the added time per streamed
/// token, and the gateway process's CPU use while it serves.
struct GatewayBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Gateway overhead: worker socket vs HTTP.")

    @Option(help: "The gateway's base URL.") var url: String = "http://127.0.0.1:8000"
    @Option(help: "API key for the gateway, if it requires one.") var apiKey: String?
    @Option(help: "The engine worker's Unix socket (scalellm serve --socket PATH).") var workerSocket: String
    @Option(help: "The gateway's process id, to measure its CPU use (scalellm serve logs it).") var gatewayPID: Int32?
    @Option(help: "Concurrent streams, comma-separated.") var concurrency: String = "1,64"
    @Option(help: "Prompt length in tokens.") var promptTokens: Int = 32
    @Option(help: "Tokens per stream.") var maxTokens: Int = 64
    @Option(help: "Rounds (each: direct, then gateway); medians are reported.") var rounds: Int = 3

    func run() throws {
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ $0 >= 1 && $0 <= 256 }), rounds >= 1 else {
            throw ValidationError("--concurrency must list 1…256 and --rounds be at least 1")
        }
        let server = try ServerURL(parsing: url)
        print("| streams | TTFT direct ms | TTFT gateway ms | added TTFT ms | per-token direct ms | per-token gateway ms | added per token µs | added / TBT | gateway CPU |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        var round = 0
        for streams in levels {
            var direct: [StreamStats] = [], viaGateway: [StreamStats] = [], cpu: [Double] = []
            for _ in 0..<rounds {
                round += 1
                let r = round
                // Alternate which path goes first, so warm-up and drift do not favour one.
                for path in (r % 2 == 0 ? [0, 1] : [1, 0]) {
                    if path == 0 {
                        direct.append(try measure(streams: streams) { i in try directStream(prompt: prompt(r, i)) })
                    } else {
                        let before = gatewayPID.flatMap(Self.cpuSeconds), start = Date()
                        viaGateway.append(try measure(streams: streams) { i in try gatewayStream(server, prompt: prompt(r + 1000, i)) })
                        if let before, let after = gatewayPID.flatMap(Self.cpuSeconds) { cpu.append((after - before) / Date().timeIntervalSince(start)) }
                    }
                }
            }
            let d = StreamStats.median(direct), g = StreamStats.median(viaGateway)
            let addedPerToken = g.perToken - d.perToken
            print(String(format: "| %d | %.1f | %.1f | %+.1f | %.2f | %.2f | %+.0f | %+.1f%% | %@ |", streams, d.ttft * 1e3, g.ttft * 1e3,
                         (g.ttft - d.ttft) * 1e3, d.perToken * 1e3, g.perToken * 1e3, addedPerToken * 1e6, 100 * addedPerToken / d.perToken,
                         cpu.isEmpty ? "n/a" : String(format: "%.1f%% of a core", 100 * cpu.sorted()[cpu.count / 2])))
        }
    }

    /// Mean time to first token and mean time per token after the first, over the streams of one run.
    struct StreamStats {
        var ttft: Double
        var perToken: Double

        static func median(_ runs: [StreamStats]) -> StreamStats {
            StreamStats(ttft: runs.map(\.ttft).sorted()[runs.count / 2], perToken: runs.map(\.perToken).sorted()[runs.count / 2])
        }
    }

    /// A distinct prompt per stream and round, so the prefix cache helps neither path.
    private func prompt(_ round: Int, _ stream: Int) -> [Int32] {
        (0..<promptTokens).map { Int32(100 + (round * 7919 + stream * 104_729 + $0 * 31) % 20_000) }
    }

    /// Runs `streams` concurrent streams, each returning (send, token arrival times).
    private func measure(streams: Int, _ body: @escaping @Sendable (Int) throws -> (Double, [Double])) throws -> StreamStats {
        // One thread per stream: concurrentPerform would run only one iteration per core at a time.
        let results = Results(count: streams)
        let done = DispatchGroup()
        for i in 0..<streams {
            done.enter()
            Thread {
                results.set(i, Result { try body(i) })
                done.leave()
            }.start()
        }
        done.wait()
        var ttfts: [Double] = [], perToken: [Double] = []
        for i in 0..<streams {
            let (send, times) = try results.get(i).get()
            guard times.count == maxTokens else { throw ValidationError("a stream returned \(times.count) tokens, expected \(maxTokens)") }
            ttfts.append(times[0] - send)
            perToken.append((times.last! - times[0]) / Double(times.count - 1))
        }
        return StreamStats(ttft: ttfts.reduce(0, +) / Double(streams), perToken: perToken.reduce(0, +) / Double(streams))
    }

    private func directStream(prompt: [Int32]) throws -> (Double, [Double]) {
        let socket = try BlockingFrameSocket.connect(path: workerSocket)
        defer { socket.close() }
        try socket.send(.hello(Hello(clientName: "bench-gateway", acceptsZstd: false)))
        guard case .helloAck = try socket.receive(timeout: .seconds(30)) else { throw ValidationError("no handshake from the worker") }
        let send = Self.now()
        try socket.send(.generate(GenerateRequest(requestID: 1, promptTokenIDs: prompt, maxTokens: UInt32(maxTokens),
                                                  temperature: 0, ignoreEOS: true)))
        var times: [Double] = []
        while true {
            switch try socket.receive(timeout: .seconds(300)) {
            case .tokens(let batch):
                let now = Self.now()
                for update in batch.updates {
                    times += Array(repeating: now, count: update.tokenIDs.count)
                    if update.finishReason.isFinished { return (send, times) }
                }
            case .error(let reply): throw ValidationError("worker: \(reply.message)")
            default: continue
            }
        }
    }

    private func gatewayStream(_ server: ServerURL, prompt: [Int32]) throws -> (Double, [Double]) {
        let client = StreamingCompletionClient(.init(url: server, apiKey: apiKey, requestTimeout: 300))
        let body = #"{"prompt": [\#(prompt.map(String.init).joined(separator: ","))], "max_tokens": \#(maxTokens), "temperature": 0, "ignore_eos": true, "stream": true, "stream_options": {"include_usage": true}}"#
        let origin = MonotonicClock.now()
        let timing = client.stream(path: server.apiPath("completions"), body: Array(body.utf8), index: 0, origin: origin)
        if let error = timing.error { throw ValidationError("gateway: \(error)") }
        // The gateway coalesces tokens that are ready together: spread a chunk's tokens over its arrival time.
        let chunks = timing.tokenChunkTimes
        let tokens = timing.completionTokens ?? chunks.count
        let base = Double(origin) / 1e9
        var times = chunks.map { base + $0 }
        if times.count < tokens, let last = times.last { times += Array(repeating: last, count: tokens - times.count) }
        return (base + timing.sendTime, Array(times.prefix(tokens)))
    }

    private static func now() -> Double { Double(MonotonicClock.now()) / 1e9 }

    /// utime + stime of a process, in seconds, from /proc/PID/stat.
    private static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Per-stream results written by concurrent threads.
    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Result<(Double, [Double]), Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<(Double, [Double]), Error>) { lock.withLock { values[i] = r } }
        func get(_ i: Int) -> Result<(Double, [Double]), Error> { lock.withLock { values[i]! } }
    }
}
