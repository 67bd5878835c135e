import Foundation
import XCTest
import TestSupport
import WireProtocol

/// `scalellm-worker --tensor-parallel-size 2` as real processes: rank 0 spawns rank 1, both serve the golden
/// prompts through rank 0's socket with the golden tokens; each rank answers on its own admin socket, the follower
/// refusing drain and shutdown; a model whose sizes do not divide is refused; a rank 1 killed with SIGKILL
/// mid-request fails the in-flight requests with an error frame and rank 0 exits non-zero; a rank 0 killed with
/// SIGKILL makes rank 1 exit — and in both cases no process, socket file or shared-memory segment is left behind.
final class TensorParallelWorkerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-tp-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    /// A TP=2 worker on stories260K, connected over its socket.
    private struct Worker {
        let process: ServerProcess
        let socket: BlockingFrameSocket
        /// The pids of rank 0 and rank 1.
        let pids: [Int32]
        /// The admin sockets of rank 0 and rank 1.
        let adminPaths: [String]
    }

    private func startWorker() throws -> Worker {
        let path = directory.appendingPathComponent("w.sock").path
        let process = try ServerProcess(executable: "scalellm-worker", arguments: [
            "--model", SharedData.storiesDirectory, "--socket", path, "--kv-cache-memory", "8MiB", "--tensor-parallel-size", "2"])
        let pidsLine = try process.waitForLine(containing: "rank pids", seconds: 60)
        let pids = pidsLine.components(separatedBy: "rank pids ").last!.split(separator: " ").compactMap { Int32($0) }
        XCTAssertEqual(pids.count, 2)
        let adminPaths = [path + ".admin", path + ".admin.rank1"]
        XCTAssertTrue(try process.waitForLine(containing: "rank 1: admin socket", seconds: 120).hasSuffix(adminPaths[1]))
        _ = try process.waitForLine(containing: "listening on", seconds: 120)
        let socket = try BlockingFrameSocket.connect(path: path)
        try socket.send(.hello(Hello(clientName: "test")))
        let reply = try socket.receive(timeout: .seconds(30))
        guard case .helloAck = reply else { throw WireError.malformedMessage("expected a hello ack, got \(reply)") }
        return Worker(process: process, socket: socket, pids: pids, adminPaths: adminPaths)
    }

    /// One admin command over the admin socket at `path` (newline-delimited JSON), and the parsed reply.
    private func admin(_ command: String, _ path: String) throws -> [String: Any] {
        let socket = try BlockingLineSocket.connect(path: path)
        defer { socket.close() }
        try socket.writeLine(Array(#"{"command": "\#(command)"}"#.utf8))
        let line = try socket.readLine(timeout: .seconds(30))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], String(decoding: line, as: UTF8.self))
    }

    /// No segment of the group (named after rank 0's pid) is left in /dev/shm.
    private func assertNoSegment(_ worker: Worker, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/shm/scalellm-tp\(worker.pids[0])-shm"), "segment left behind",
                       file: file, line: line)
    }

    func testTwoProcessWorkerServesGoldenTokens() throws {
        let worker = try startWorker()
        defer { worker.process.stop() }
        let socket = worker.socket
        let cases = try SharedData.goldenCases("stories260K", "generation.json")
        for (i, c) in cases.enumerated() {
            try socket.send(.generate(GenerateRequest(requestID: UInt64(i + 1), promptTokenIDs: c.tokenIDs("prompt_token_ids"),
                                                      maxTokens: 48, temperature: 0, ignoreEOS: true)))
        }
        var tokens: [UInt64: [Int32]] = [:], finished: Set<UInt64> = []
        while finished.count < cases.count {
            switch try socket.receive(timeout: .seconds(60)) {
            case .tokens(let batch):
                for update in batch.updates {
                    tokens[update.requestID, default: []] += update.tokenIDs
                    if update.finishReason.isFinished { finished.insert(update.requestID) }
                }
            case .error(let reply): return XCTFail("error frame: \(reply.message)")
            default: continue
            }
        }
        for (i, c) in cases.enumerated() {
            // Only the documented near-tie may flip; the tokens before it must agree.
            let agreeing = GoldenTokens.mustAgree(model: "stories260K", caseID: c["id"] as! String, tokens[UInt64(i + 1)] ?? [],
                                                  c.tokenIDs("continuation_token_ids"))
            XCTAssertEqual(agreeing.generated, agreeing.reference, "case \(c["id"]!)")
        }
        XCTAssertEqual(worker.process.stop(), 0)
        XCTAssertNotEqual(kill(worker.pids[1], 0), 0, "rank 1 outlived rank 0")
        assertNoSegment(worker)
    }

    func testEveryRankAnswersOnItsOwnAdminSocket() throws {
        let worker = try startWorker()
        defer { worker.process.stop() }
        let prompt: [Int32] = [1, 400, 500]
        try worker.socket.send(.generate(GenerateRequest(requestID: 1, promptTokenIDs: prompt, maxTokens: 8, temperature: 0, ignoreEOS: true)))
        var finished = false
        while !finished {
            switch try worker.socket.receive(timeout: .seconds(60)) {
            case .tokens(let batch): finished = batch.updates.contains { $0.finishReason.isFinished }
            case .error(let reply): return XCTFail("error frame: \(reply.message)")
            default: continue
            }
        }

        let scheduler = try admin("status", worker.adminPaths[0])
        XCTAssertEqual(scheduler["ok"] as? Bool, true)
        XCTAssertEqual(scheduler["role"] as? String, "scheduler")
        XCTAssertEqual((scheduler["rank"] as? NSNumber)?.intValue, 0)
        XCTAssertEqual((scheduler["tp_size"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual((scheduler["pid"] as? NSNumber)?.intValue, Int(worker.pids[0]))
        XCTAssertEqual((scheduler["requests_completed"] as? NSNumber)?.intValue, 1)
        let steps = try XCTUnwrap((scheduler["steps"] as? NSNumber)?.intValue)
        XCTAssertEqual(steps, 8, "one prefill step and seven decode steps")

        let follower = try admin("status", worker.adminPaths[1])
        XCTAssertEqual(follower["ok"] as? Bool, true)
        XCTAssertEqual(follower["role"] as? String, "follower")
        XCTAssertEqual((follower["rank"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual((follower["tp_size"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual((follower["pid"] as? NSNumber)?.intValue, Int(worker.pids[1]))
        XCTAssertEqual(follower["model"] as? String, scheduler["model"] as? String)
        XCTAssertEqual(follower["dtype"] as? String, "auto")
        XCTAssertEqual(follower["kv_cache_dtype"] as? String, "f16")
        // Memory: each rank holds its own weights and KV pool; both serve the same 1 MB safetensors file.
        let fileBytes = try FileManager.default.attributesOfItem(atPath: SharedData.storiesDirectory + "/model.safetensors")[.size] as! Int
        for status in [scheduler, follower] {
            XCTAssertEqual((status["model_file_bytes"] as? NSNumber)?.intValue, fileBytes)
            XCTAssertGreaterThan((status["weight_bytes"] as? NSNumber)?.intValue ?? 0, 0)
            XCTAssertGreaterThan((status["kv_cache_bytes"] as? NSNumber)?.intValue ?? 0, 0)
        }
        XCTAssertEqual(follower["scheduler_admin_socket"] as? String, worker.adminPaths[0])
        // The follower's own counters: it ran rank 0's steps (the last one may still be recording as rank 0 answers).
        let followerSteps = try XCTUnwrap((follower["steps"] as? NSNumber)?.intValue)
        XCTAssertTrue((steps - 1 ... steps).contains(followerSteps), "follower ran \(followerSteps) of \(steps) steps")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap((follower["step_time_samples"] as? NSNumber)?.intValue), steps - 1)
        XCTAssertGreaterThan(try XCTUnwrap((follower["step_time_p50_ms"] as? NSNumber)?.doubleValue), 0)
        XCTAssertGreaterThan(try XCTUnwrap((follower["steps_per_s"] as? NSNumber)?.doubleValue), 0)
        XCTAssertNil(follower["running"], "only the scheduler knows sequences")

        var st = stat()
        XCTAssertEqual(lstat(worker.adminPaths[1], &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        // drain and shutdown belong to rank 0: the follower refuses them, naming rank 0's admin socket.
        for command in ["drain", "shutdown"] {
            let refusal = try admin(command, worker.adminPaths[1])
            XCTAssertEqual(refusal["ok"] as? Bool, false, command)
            XCTAssertEqual(refusal["code"] as? String, "not_scheduler", command)
            XCTAssertTrue((refusal["error"] as? String ?? "").contains("rank 0's admin socket at \(worker.adminPaths[0])"), "\(refusal)")
        }
        let table = try CommandRun.run(["admin", worker.adminPaths[1], "status"])
        XCTAssertEqual(table.status, 0, table.stderr)
        for expected in ["role                    follower", "tensor parallel size    2", "scheduler admin socket  \(worker.adminPaths[0])"] {
            XCTAssertTrue(table.stdout.contains(expected), "no '\(expected)' in:\n\(table.stdout)")
        }
        let drain = try CommandRun.run(["admin", worker.adminPaths[1], "drain"])
        XCTAssertNotEqual(drain.status, 0)
        XCTAssertTrue(drain.stderr.contains("send drain to rank 0's admin socket"), drain.stderr)
        // The refusals changed nothing: rank 0 still serves and is not draining.
        XCTAssertEqual(try admin("status", worker.adminPaths[0])["draining"] as? Bool, false)

        XCTAssertEqual(worker.process.stop(), 0)
        XCTAssertTrue(worker.process.waitForEndOfOutput(seconds: 30), "rank 1 outlived rank 0")
        for path in worker.adminPaths { XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) left behind") }
        assertNoSegment(worker)
    }

    func testKilledRankFailsInFlightRequestsAndLeavesNothingBehind() throws {
        let worker = try startWorker()
        defer { worker.process.stop() }
        let socket = worker.socket, pids = worker.pids
        let prompt = try SharedData.goldenCases("stories260K", "generation.json")[0].tokenIDs("prompt_token_ids")
        let count = 8
        for id in 1...count {
            try socket.send(.generate(GenerateRequest(requestID: UInt64(id), promptTokenIDs: prompt, maxTokens: UInt32(500 - prompt.count),
                                                      temperature: 0, ignoreEOS: true)))
        }
        // Kill rank 1 once tokens flow: the requests are then in flight.
        while true {
            if case .tokens = try socket.receive(timeout: .seconds(60)) { break }
        }
        XCTAssertEqual(kill(pids[1], SIGKILL), 0)
        var failed: [UInt64: String] = [:], finished: Set<UInt64> = []
        let deadline = Date().addingTimeInterval(30)
        receiving: while failed.count + finished.count < count, Date() < deadline {
            do {
                switch try socket.receive(timeout: .seconds(30)) {
                case .tokens(let batch): for update in batch.updates where update.finishReason.isFinished { finished.insert(update.requestID) }
                case .error(let reply): failed[reply.requestID] = reply.message
                default: continue
                }
            } catch { break receiving }   // the worker closed the connection after the error frames
        }
        XCTAssertFalse(failed.isEmpty, "no request was failed; finished: \(finished)")
        XCTAssertEqual(failed.count + finished.count, count, "every request either failed with an error or finished")
        for message in failed.values { XCTAssertTrue(message.contains("rank 1 died"), message) }
        let status = try XCTUnwrap(worker.process.waitForExit(seconds: 30), "rank 0 kept running after rank 1 died")
        XCTAssertNotEqual(status, 0)
        XCTAssertNotEqual(kill(pids[1], 0), 0)
        assertNoSegment(worker)
        XCTAssertFalse(FileManager.default.fileExists(atPath: worker.adminPaths[0]), "rank 0's admin socket left behind")
        XCTAssertTrue(worker.process.stderrText.contains("rank 1 died"), worker.process.stderrText)
    }

    func testKilledRankZeroMakesTheFollowerExitAndLeavesNothingBehind() throws {
        let worker = try startWorker()
        defer { worker.process.stop() }
        XCTAssertEqual(kill(worker.pids[0], SIGKILL), 0)
        XCTAssertTrue(worker.process.waitForEndOfOutput(seconds: 30), "rank 1 kept running after rank 0 died")
        XCTAssertTrue(worker.process.stderrText.contains("rank 1: tensor parallel group failed: process group: rank 0 died"),
                      worker.process.stderrText)
        // The follower removed its admin socket and the segment its dead creator could not unlink.
        XCTAssertFalse(FileManager.default.fileExists(atPath: worker.adminPaths[1]), "rank 1's admin socket left behind")
        assertNoSegment(worker)
    }

    func testSizesThatDoNotDivideAreRefused() throws {
        let outcome = try CommandRun.run(["--model", SharedData.smolLMGGUF, "--socket", directory.appendingPathComponent("s.sock").path,
                                          "--tensor-parallel-size", "2"], executable: "scalellm-worker", seconds: 60)
        XCTAssertTrue(outcome.exitedInTime)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.stderr.contains("tensor parallel size 2 does not divide the model: 3 KV heads"), outcome.stderr)
    }
}
