import Foundation
import XCTest
import TestSupport

/// A worker that dies is reported and restarted: `scalellm serve` logs the crash, the stream in flight ends with an
/// error event, the gateway answers 503 with `Retry-After` until a new worker is ready, then serves again, and
/// nothing stale is left in the socket directory. Beyond `--max-restarts` crashes serve gives up and exits non-zero.
final class WorkerCrashTests: XCTestCase {
    private func workerPID(_ line: String) throws -> Int32 {
        try XCTUnwrap(Int32(try XCTUnwrap(line.components(separatedBy: "pid ").last?.split(separator: ",").first)))
    }

    func testKilledWorkerIsRestartedWhileTheGatewayStaysUp() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-crash-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("w.sock").path
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.smolLMGGUF, "--port", "0", "--socket", socket,
                                                   "--kv-cache-memory", "32MiB"])
        defer { server.stop() }
        let port = try server.waitForPort()
        let pid = try workerPID(try server.waitForLine(containing: "worker ready"))

        // A stream in flight when the worker dies ends with an error event, not a hang.
        let stream = try HTTPTestClient(port: port)
        let body = #"{"prompt": "Once upon a time", "max_tokens": 400, "ignore_eos": true, "temperature": 0, "stream": true}"#
        try stream.startPost("/v1/completions", json: body)
        _ = try stream.readUntilText("data: {")
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        _ = try stream.readUntilText("went away")
        _ = try stream.readUntilText("data: [DONE]")

        _ = try server.waitForLine(containing: "the worker (pid \(pid)) was killed by signal 9 (Killed); restarting it")
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/health").status, 200, "the gateway stays up")
        let restarted = try server.waitForLine(containing: "worker ready", occurrence: 2)
        XCTAssertNotEqual(try workerPID(restarted), pid)
        let answer = try HTTPTestClient(port: port).request("POST", "/v1/completions",
                                                            json: #"{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)), ["w.sock", "w.sock.admin"],
                       "only the new worker's sockets")

        XCTAssertEqual(server.stop(), 0, server.stderrText)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "sockets left behind")
    }

    func testServeGivesUpBeyondMaxRestarts() throws {
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.storiesDirectory, "--port", "0",
                                                   "--kv-cache-memory", "8MiB", "--max-restarts", "0"])
        defer { server.stop() }
        _ = try server.waitForPort()
        let pid = try workerPID(try server.waitForLine(containing: "worker ready"))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        let status = try XCTUnwrap(server.waitForExit(seconds: 30), "serve kept running")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(server.stderrText.contains("the worker (pid \(pid)) was killed by signal 9 (Killed): it crashed 1 time within 60 s, more than --max-restarts 0; giving up"),
                      server.stderrText)
    }
}
