import ArgumentParser
import Foundation
import ServingBenchmark

/// `scalellm bench serve`: benchmarks a running OpenAI-compatible server (this one or any other) the way the
/// ScaleLLM paper does — closed-loop clients at each concurrency level sending streamed requests back to back (or
/// at Poisson arrivals) — and prints TTFT and TBT per level as a markdown table, with throughput, end-to-end and
/// inter-token latency, errors, goodput and the paper's Timeout rule. Progress goes to stderr, tables to stdout;
/// `--output-json` and `--output-svg` write every figure and a chart, `--compare` prints ratios to an earlier run.
struct ServeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Benchmark a running OpenAI-compatible server: TTFT, TBT and throughput per concurrency level.")

    @Option(help: "Server URL (http only; for https use a local TLS-terminating proxy).") var url: String = "http://127.0.0.1:8000"
    @Option(help: "API key, sent as 'Authorization: Bearer KEY'.") var apiKey: String?
    @Option(help: "API to call: completions (/v1/completions) or chat (/v1/chat/completions).") var endpoint: String = "completions"
    @Option(help: "Model name to send (default: the first model of /v1/models, or none).") var model: String?
    @Option(help: "Concurrency levels (closed-loop clients), comma-separated.") var concurrency: String = "1,2,4,8,16,32,64"
    @Option(help: "max_tokens of every request.") var maxTokens: Int = 64
    @Option(help: "Prompts file: one prompt per line, or JSON Lines with a \"prompt\" field.") var prompts: String?
    @Option(help: "Synthetic prompts of about this many words (default 64 without --prompts).") var randomInputLen: Int?
    @Option(help: "Requests per level (default: max(8, 2 × concurrency)).") var numRequests: Int?
    @Option(help: "Seconds per level instead of a request count.") var duration: Double?
    @Option(help: "Poisson arrivals per second (at most 'concurrency' in flight) instead of back-to-back requests.")
    var requestRate: Double?
    @Option(help: "Goodput objective: largest time to first token, in milliseconds.") var sloTtft: Double?
    @Option(help: "Goodput objective: largest time between tokens, in milliseconds.") var sloTbt: Double?
    @Option(help: "Sampling temperature.") var temperature: Double = 0
    @Flag(name: .customLong("ignore-eos"), inversion: .prefixedNo, help: "Send ignore_eos so every request generates max-tokens tokens.")
    var ignoreEOS = true
    @Option(help: "Seed of the synthetic prompts and arrival times.") var seed: UInt64 = 0
    @Option(help: "Timeout rule: a request completes in time within this many seconds (the paper: 60).") var timeoutLimit: Double = 60
    @Option(help: "Seconds before one request is abandoned as failed.") var requestTimeout: Double = 120
    @Option(help: "Seconds to establish a connection.") var connectTimeout: Double = 10
    @Flag(help: "Run the higher levels even after one is marked Timeout (by default they are skipped).") var continueAfterTimeout = false
    @Option(help: "A name for this run in comparisons (default: the URL).") var label: String?
    @Option(help: "Write every figure and request timing as JSON to this file.") var outputJson: String?
    @Option(help: "Write an SVG chart (TTFT and TBT vs concurrency, throughput vs concurrency) to this file.") var outputSvg: String?
    @Option(help: "A JSON file from an earlier run (or another server) to print ratios against.") var compare: String?

    /// A failure that ends the command with a message and a non-zero status.
    struct Failure: Error, CustomStringConvertible { let description: String }

    private var levels: [Int] {
        concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        let parts = concurrency.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, levels.count == parts.count, levels.allSatisfy({ (1...4096).contains($0) }) else {
            throw ValidationError("--concurrency must list integers from 1 to 4096, e.g. 1,2,4,8")
        }
        do { _ = try ServerURL(parsing: url) } catch { throw ValidationError("--url \(error)") }
        guard Endpoint(rawValue: endpoint) != nil else { throw ValidationError("--endpoint must be completions or chat") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard prompts == nil || randomInputLen == nil else { throw ValidationError("give --prompts or --random-input-len, not both") }
        if let randomInputLen, randomInputLen < 1 { throw ValidationError("--random-input-len must be at least 1") }
        guard numRequests == nil || duration == nil else { throw ValidationError("give --num-requests or --duration, not both") }
        if let numRequests, numRequests < 1 { throw ValidationError("--num-requests must be at least 1") }
        if let duration, !(duration > 0 && duration <= 86_400) { throw ValidationError("--duration must be between 0 and 86400 seconds") }
        if let requestRate, !(requestRate > 0 && requestRate.isFinite) { throw ValidationError("--request-rate must be positive") }
        for (name, value) in [("--slo-ttft", sloTtft), ("--slo-tbt", sloTbt)] {
            if let value, !(value > 0) { throw ValidationError("\(name) must be a positive number of milliseconds") }
        }
        guard timeoutLimit > 0, requestTimeout > 0, connectTimeout > 0 else {
            throw ValidationError("--timeout-limit, --request-timeout and --connect-timeout must be positive")
        }
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative") }
    }

    func run() throws {
        let serverURL = try ServerURL(parsing: url)
        let promptSource: PromptSource
        if let prompts {
            do { promptSource = try PromptSource.load(file: prompts) } catch { throw Failure(description: "\(error)") }
        } else {
            promptSource = .synthetic(words: randomInputLen ?? 64, seed: seed)
        }
        // Read the comparison baseline first, so a bad path fails before the benchmark runs.
        var baseline: BenchmarkReport?
        if let compare {
            guard let data = FileManager.default.contents(atPath: compare) else { throw Failure(description: "cannot read --compare file '\(compare)'") }
            do { baseline = try BenchmarkReport.decode(data) } catch { throw Failure(description: "'\(compare)' is not a benchmark report: \(error)") }
        }

        let settings = BenchmarkSettings(
            label: label ?? serverURL.description,
            client: .init(url: serverURL, apiKey: apiKey, connectTimeout: connectTimeout, requestTimeout: requestTimeout),
            template: RequestTemplate(endpoint: Endpoint(rawValue: endpoint)!, model: model, maxTokens: maxTokens,
                                      temperature: temperature, ignoreEOS: ignoreEOS),
            prompts: promptSource, concurrencies: levels, requestCount: duration == nil ? numRequests : nil, duration: duration,
            requestRate: requestRate, seed: seed,
            criteria: BenchmarkCriteria(timeoutSeconds: timeoutLimit, sloTimeToFirstToken: sloTtft.map { $0 / 1000 },
                                        sloTimeBetweenTokens: sloTbt.map { $0 / 1000 }),
            continueAfterTimeout: continueAfterTimeout)
        let runner = BenchmarkRunner(settings)
        do { try runner.prepare() } catch { throw Failure(description: "\(error)") }

        let log = FileHandle.standardError
        let interactive = isatty(STDERR_FILENO) == 1
        let model = runner.settings.template.model ?? "(server default)"
        log.write(Data("bench serve: \(model) at \(serverURL), \(endpoint), max tokens \(maxTokens), \(promptSource.summary)\n".utf8))
        let report = runner.run(levelStarted: { plan in
            let bound = plan.requestCount.map { "\($0) requests" } ?? String(format: "%.0f s", plan.duration ?? 0)
            let rate = plan.requestRate.map { String(format: ", Poisson %.2f req/s", $0) } ?? ""
            log.write(Data("concurrency \(plan.concurrency): \(bound)\(rate)\(interactive ? "" : "…\n")".utf8))
        }, progress: { p in
            guard interactive else { return }
            let of = p.total.map { "/\($0)" } ?? ""
            log.write(Data(String(format: "\r\u{1B}[Kconcurrency %d: %d%@ done, %d errors, %.1f s", p.concurrency, p.finished, of, p.errors, p.elapsed).utf8))
        }, levelFinished: { level in
            let clear = interactive && !level.skipped ? "\r\u{1B}[K" : ""
            log.write(Data((clear + Self.summaryLine(level) + "\n").utf8))
        })

        let c = report.configuration
        let ignored = c.ignoreEOS ? " (EOS ignored)" : ""
        let perLevel: String
        if let seconds = c.durationSeconds {
            perLevel = String(format: "%.0f s per level", seconds)
        } else {
            perLevel = "requests per level " + (c.requestsPerLevel ?? []).map(String.init).joined(separator: ",")
        }
        let arrivals = c.requestRate.map { String(format: "Poisson arrivals %.2f req/s", $0) } ?? "closed loop, back to back"
        print("model: \(c.model ?? "(server default)") at \(c.url) (\(c.endpoint)); max tokens \(c.maxTokens)\(ignored); \(c.prompts); "
              + "\(perLevel); \(arrivals); \(report.startedAt)")
        print(String(format: "Timeout: at least %.0f%% of a level's requests did not complete within %.0f s.", settings.criteria.timeoutFraction * 100,
                     settings.criteria.timeoutSeconds))
        print("")
        print(MarkdownTable.render(report))
        let failed = report.levels.reduce(0) { $0 + $1.errorCount }
        if failed > 0 {
            for level in report.levels where !level.sampleErrors.isEmpty {
                print("errors at concurrency \(level.concurrency): " + level.sampleErrors.joined(separator: "; "))
            }
            print("")
        }
        if let baseline { print(Comparison(current: report, baseline: baseline).markdown) }

        if let outputJson {
            do { try report.jsonData().write(to: URL(fileURLWithPath: outputJson)) } catch {
                throw Failure(description: "cannot write \(outputJson): \(error)")
            }
            log.write(Data("wrote \(outputJson)\n".utf8))
        }
        if let outputSvg {
            do { try Data(SVGChart.render(report).utf8).write(to: URL(fileURLWithPath: outputSvg)) } catch {
                throw Failure(description: "cannot write \(outputSvg): \(error)")
            }
            log.write(Data("wrote \(outputSvg)\n".utf8))
        }
    }

    /// The line printed to stderr when a level ends.
    static func summaryLine(_ level: LevelResult) -> String {
        if level.skipped { return "concurrency \(level.concurrency): skipped (a lower level timed out) — Timeout" }
        var line = String(format: "concurrency %d: %d requests, %d errors, %.1f output tokens/s, %.2f req/s", level.concurrency,
                          level.requestCount, level.errorCount, level.outputTokensPerSecond, level.requestsPerSecond)
        if let ttft = level.timeToFirstToken { line += String(format: ", TTFT p50 %.1f ms", ttft.p50 * 1000) }
        if let tbt = level.timeBetweenTokens { line += String(format: ", TBT p50 %.1f ms", tbt.p50 * 1000) }
        line += String(format: ", %.1f s", level.durationSeconds)
        if level.missingUsageCount > 0 { line += ", \(level.missingUsageCount) responses without usage" }
        if level.timedOut { line += " — Timeout" }
        return line
    }
}
