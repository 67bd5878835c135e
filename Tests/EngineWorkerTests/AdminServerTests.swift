import Foundation
import XCTest
import ModelFormats
import TestSupport
import WireProtocol
@testable import EngineWorker

/// The worker's admin socket over its real Unix socket: status after real requests, file mode 0600, malformed and
/// oversized requests answered without harm, drain (running requests finish, new ones are refused) and shutdown
/// (the worker stops and both socket files go away).
final class AdminServerTests: XCTestCase {
    private var fixture: StoriesWorkerFixture!
    private var server: WorkerServer { fixture.server }
    private var socketPath: String { fixture.socketPath }
    private var adminPath: String { fixture.adminPath }
    private var serverStopped = false

    override func setUpWithError() throws {
        fixture = try StoriesWorkerFixture("admin", admin: true)
    }

    override func tearDown() {
        fixture.tearDown(alreadyStopped: serverStopped)
    }

    private func connect() throws -> BlockingFrameSocket {
        let socket = try BlockingFrameSocket.connect(path: socketPath)
        try socket.send(.hello(Hello(clientName: "test")))
        let reply = try socket.receive(timeout: .seconds(30))
        guard case .helloAck = reply else { throw WireError.malformedMessage("expected a hello ack, got \(reply)") }
        return socket
    }

    /// Runs a request to its end; returns its tokens and finish reason.
    private func generate(_ socket: BlockingFrameSocket, id: UInt64, prompt: [Int32], maxTokens: UInt32) throws -> ([Int32], WireProtocol.FinishReason) {
        try socket.send(.generate(GenerateRequest(requestID: id, promptTokenIDs: prompt, maxTokens: maxTokens, temperature: 0, ignoreEOS: true)))
        return try finish(socket, id: id)
    }

    private func finish(_ socket: BlockingFrameSocket, id: UInt64, tokens: [Int32] = []) throws -> ([Int32], WireProtocol.FinishReason) {
        var tokens = tokens
        while true {
            switch try socket.receive(timeout: .seconds(60)) {
            case .tokens(let batch):
                for update in batch.updates where update.requestID == id {
                    tokens += update.tokenIDs
                    if update.finishReason.isFinished { return (tokens, update.finishReason) }
                }
            case .error(let reply): throw WireError.remoteError(code: reply.code.name, message: reply.message)
            default: continue
            }
        }
    }

    private func admin(_ command: String) throws -> [String: Any] {
        try AdminClient.send(command, to: adminPath).reply
    }

    private func number(_ reply: [String: Any], _ key: String, file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        try XCTUnwrap((reply[key] as? NSNumber)?.doubleValue, "status lacks a number '\(key)': \(reply)", file: file, line: line)
    }

    func testStatusReportsEngineAndStepStatistics() throws {
        let socket = try connect()
        // The same 40-token prompt twice, one after the other: the second reuses two cached blocks of 16 tokens.
        let prompt = (0..<40).map { Int32(1 + $0 * 7 % 500) }
        for id in [UInt64(1), 2] {
            let (tokens, reason) = try generate(socket, id: id, prompt: prompt, maxTokens: 8)
            XCTAssertEqual(tokens.count, 8)
            XCTAssertEqual(reason, .length)
        }
        let status = try admin("status")
        XCTAssertEqual(status["ok"] as? Bool, true)
        XCTAssertEqual(status["role"] as? String, "scheduler")
        XCTAssertEqual(status["model"] as? String, "stories260K")
        XCTAssertEqual(status["dtype"] as? String, "fp32")
        XCTAssertEqual(status["kv_cache_dtype"] as? String, "f32", "auto is f32 beside fp32 weights")
        XCTAssertEqual(status["draining"] as? Bool, false)
        XCTAssertEqual(try number(status, "rank"), 0)
        XCTAssertEqual(try number(status, "tp_size"), 1)
        XCTAssertEqual(try number(status, "pid"), Double(getpid()))
        XCTAssertEqual(try number(status, "running"), 0)
        XCTAssertEqual(try number(status, "waiting"), 0)
        XCTAssertEqual(try number(status, "requests_completed"), 2)
        let total = try number(status, "kv_blocks_total")
        XCTAssertGreaterThan(total, 0)
        XCTAssertEqual(try number(status, "kv_blocks_used"), 0)
        XCTAssertEqual(try number(status, "kv_blocks_free"), total)
        XCTAssertGreaterThanOrEqual(try number(status, "kv_blocks_cached"), 2)
        XCTAssertEqual(try number(status, "kv_block_size"), 16)
        XCTAssertEqual(try number(status, "prompt_tokens_admitted"), 80)
        XCTAssertEqual(try number(status, "prefix_cache_hit_tokens"), 32)
        XCTAssertEqual(try number(status, "prefix_cache_hit_rate"), 0.4, accuracy: 1e-9)
        // Each request: one prefill step that samples the first token, then seven decode steps.
        let steps = try number(status, "steps")
        XCTAssertEqual(steps, 16)
        XCTAssertEqual(try number(status, "step_time_samples"), steps)
        XCTAssertEqual(try number(status, "tokens_computed"), 40 + 8 + 7 + 7)
        XCTAssertGreaterThan(try number(status, "steps_per_s"), 0)
        XCTAssertGreaterThan(try number(status, "generated_tokens_per_s"), 0)
        XCTAssertGreaterThan(try number(status, "computed_tokens_per_s"), try number(status, "generated_tokens_per_s"))
        XCTAssertEqual(try number(status, "rate_window_s"), 10)
        let p50 = try number(status, "step_time_p50_ms"), p90 = try number(status, "step_time_p90_ms"), p99 = try number(status, "step_time_p99_ms")
        XCTAssertGreaterThan(p50, 0)
        XCTAssertLessThanOrEqual(p50, p90)
        XCTAssertLessThanOrEqual(p90, p99)
        XCTAssertGreaterThan(try number(status, "uptime_s"), 0)

        let table = WorkerStatus.table(status)
        XCTAssertTrue(table.contains("model                  stories260K"), table)
        XCTAssertTrue(table.contains("40.0% (32 of 80 prompt tokens)"), table)
        XCTAssertTrue(table.contains("0 running, 0 waiting"), table)
        XCTAssertTrue(table.contains("serving"), table)
    }

    func testStatusBeforeAnyStepHasNoStepTimes() throws {
        let status = try admin("status")
        XCTAssertEqual(try number(status, "steps"), 0)
        XCTAssertTrue(status["step_time_p50_ms"] is NSNull, "\(status)")
        XCTAssertEqual(try number(status, "prefix_cache_hit_rate"), 0)
        XCTAssertEqual(try number(status, "steps_per_s"), 0)
        XCTAssertTrue(WorkerStatus.table(status).contains("p50 - ms"))
    }

    func testAdminSocketIsPrivate() throws {
        var st = stat()
        XCTAssertEqual(lstat(adminPath, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
    }

    func testMalformedRequestsAreAnsweredAndTheServerKeepsServing() throws {
        let socket = try BlockingLineSocket.connect(path: adminPath, maxLineBytes: 1 << 20)
        defer { socket.close() }
        func reply(to line: [UInt8]) throws -> [String: Any] {
            try socket.writeLine(line)
            let answer = try socket.readLine(timeout: .seconds(30))
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])
        }
        let cases: [(String, [UInt8], String)] = [
            ("not JSON", Array("status".utf8), "malformed_request"),
            ("truncated JSON", Array(#"{"command": "sta"#.utf8), "malformed_request"),
            ("an array", Array(#"["status"]"#.utf8), "malformed_request"),
            ("no command", Array(#"{"cmd": "status"}"#.utf8), "malformed_request"),
            ("a number as command", Array(#"{"command": 1}"#.utf8), "malformed_request"),
            ("unknown command", Array(#"{"command": "reboot"}"#.utf8), "unknown_command"),
            ("empty line", [], "malformed_request"),
            ("invalid UTF-8", [0x7B, 0xFF, 0xFE, 0x7D], "malformed_request"),
            ("deep nesting", [UInt8](repeating: UInt8(ascii: "["), count: 60_000), "malformed_request"),
        ]
        for (name, line, code) in cases {
            let answer = try reply(to: line)
            XCTAssertEqual(answer["ok"] as? Bool, false, name)
            XCTAssertEqual(answer["code"] as? String, code, name)
            XCTAssertFalse((answer["error"] as? String ?? "").isEmpty, name)
        }
        // The same connection still answers valid requests; a CRLF line ending is accepted.
        XCTAssertEqual(try reply(to: Array(#"{"command": "status"}"#.utf8) + [13])["ok"] as? Bool, true)

        // A line over 64 KiB: one error reply, then the connection is closed (the stream is out of sync).
        try socket.writeRaw([UInt8](repeating: UInt8(ascii: "x"), count: AdminServer.maxLineBytes + 100) + [10])
        let oversize = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(socket.readLine(timeout: .seconds(30)))) as? [String: Any])
        XCTAssertEqual(oversize["code"] as? String, "line_too_long")
        // (End of stream, or ECONNRESET: Linux reports that when the server closes with request bytes unread.)
        XCTAssertThrowsError(try socket.readLine(timeout: .seconds(30))) { error in
            XCTAssertNotEqual(error as? WireError, .timedOut, "the connection stayed open")
        }

        // Others are still served, on the admin socket and on the worker socket.
        XCTAssertEqual(try admin("status")["ok"] as? Bool, true)
        let (tokens, _) = try generate(try connect(), id: 1, prompt: [1, 2, 3], maxTokens: 4)
        XCTAssertEqual(tokens.count, 4)
    }

    func testConnectionsBeyondTheLimitAreRefused() throws {
        var open: [BlockingLineSocket] = []
        defer { open.forEach { $0.close() } }
        for _ in 0..<AdminServer.maxConnections {
            let socket = try BlockingLineSocket.connect(path: adminPath)
            try socket.writeLine(Array(#"{"command": "status"}"#.utf8))
            _ = try socket.readLine(timeout: .seconds(30))   // answered: it is registered
            open.append(socket)
        }
        let extra = try BlockingLineSocket.connect(path: adminPath)
        defer { extra.close() }
        let refusal = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(extra.readLine(timeout: .seconds(30)))) as? [String: Any])
        XCTAssertEqual(refusal["code"] as? String, "busy")
        // Closing one makes room again.
        open.removeFirst().close()
        // The server notices the close on its connection thread: poll, bounded by a deadline.
        let deadline = Date().addingTimeInterval(30)
        var served = false
        while !served && Date() < deadline {
            served = (try? admin("status")["ok"] as? Bool) == true
        }
        XCTAssertTrue(served)
    }

    func testDrainFinishesAdmittedRequestsAndRefusesNewOnes() throws {
        let socket = try connect()
        try socket.send(.generate(GenerateRequest(requestID: 1, promptTokenIDs: [1, 400, 500], maxTokens: 500, temperature: 0, ignoreEOS: true)))
        // Its first token proves the engine admitted it before the drain.
        var tokens: [Int32] = []
        while tokens.isEmpty {
            if case .tokens(let batch) = try socket.receive(timeout: .seconds(30)) {
                tokens += batch.updates.filter { $0.requestID == 1 }.flatMap(\.tokenIDs)
            }
        }
        let drained = try admin("drain")
        XCTAssertEqual(drained["ok"] as? Bool, true)
        XCTAssertEqual(drained["draining"] as? Bool, true)

        try socket.send(.generate(GenerateRequest(requestID: 2, promptTokenIDs: [1, 2, 3], maxTokens: 4)))
        var refused: ErrorReply?, finished: WireProtocol.FinishReason?
        while refused == nil || finished == nil {
            switch try socket.receive(timeout: .seconds(60)) {
            case .error(let reply): refused = reply
            case .tokens(let batch):
                for update in batch.updates {
                    XCTAssertEqual(update.requestID, 1, "the refused request produced tokens")
                    tokens += update.tokenIDs
                    if update.finishReason.isFinished { finished = update.finishReason }
                }
            default: continue
            }
        }
        XCTAssertEqual(refused?.requestID, 2)
        XCTAssertEqual(refused?.code, .draining)
        XCTAssertEqual(finished, .length, "the admitted request was cut short")
        XCTAssertEqual(tokens.count, 500)

        let status = try admin("status")
        XCTAssertEqual(status["draining"] as? Bool, true)
        XCTAssertEqual(try number(status, "requests_completed"), 1)
        XCTAssertTrue(WorkerStatus.table(status).contains("draining"))
        // Draining twice is harmless.
        XCTAssertEqual(try admin("drain")["ok"] as? Bool, true)
    }

    func testShutdownStopsTheWorkerAndRemovesBothSockets() throws {
        let gateway = try connect()
        let reply = try admin("shutdown")
        XCTAssertEqual(reply["ok"] as? Bool, true)
        XCTAssertTrue(fixture.waitUntilStopped(), "shutdown did not stop the worker")
        serverStopped = true
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
        XCTAssertFalse(FileManager.default.fileExists(atPath: adminPath))
        // The gateway's connection was closed.
        XCTAssertThrowsError(try gateway.receive(timeout: .seconds(30)))
        XCTAssertThrowsError(try admin("status"))
    }
}

/// The step-timing window, driven with a made-up clock.
final class StepStatisticsTests: XCTestCase {
    func testPercentilesOverTheLastStepsOnly() {
        var stats = StepStatistics(start: 100, capacity: 4, windowSeconds: 10)
        XCTAssertNil(stats.stepTime(percentile: 50))
        for (i, duration) in [9.0, 9, 1, 2, 3, 4].enumerated() {
            stats.record(end: 100 + Double(i) * 0.1, duration: duration, generated: 1, computed: 1)
        }
        // The two 9s were overwritten: the kept steps are 1, 2, 3, 4.
        XCTAssertEqual(stats.sampleCount, 4)
        XCTAssertEqual(stats.stepTime(percentile: 50), 2)
        XCTAssertEqual(stats.stepTime(percentile: 90), 4)
        XCTAssertEqual(stats.stepTime(percentile: 99), 4)
        XCTAssertEqual(stats.stepTime(percentile: 0), 1)
    }

    func testRatesCoverTheWindowAndForgetOlderSeconds() {
        var stats = StepStatistics(start: 0, windowSeconds: 10)
        XCTAssertEqual(stats.rates(now: 5).steps, 0)
        // 20 steps in second 0 (3 tokens each, 10 computed), then 10 steps in second 12.
        for i in 0..<20 { stats.record(end: Double(i) * 0.01, duration: 0.01, generated: 3, computed: 10) }
        let early = stats.rates(now: 2)
        XCTAssertEqual(early.steps, 10, accuracy: 1e-9)        // 20 steps over the 2 s since start
        XCTAssertEqual(early.generated, 30, accuracy: 1e-9)
        XCTAssertEqual(early.computed, 100, accuracy: 1e-9)
        XCTAssertEqual(stats.rates(now: 9.5).steps, 20 / 9.5, accuracy: 1e-9)
        for i in 0..<10 { stats.record(end: 12 + Double(i) * 0.01, duration: 0.01, generated: 1, computed: 1) }
        // Window at 12.5: seconds 3…12, i.e. 9.5 s, holding only the 10 recent steps.
        XCTAssertEqual(stats.rates(now: 12.5).steps, 10 / 9.5, accuracy: 1e-9)
        XCTAssertEqual(stats.rates(now: 30).steps, 0)
    }
}
