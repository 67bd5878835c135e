import Foundation
import XCTest
import TestSupport

/// A worker that stops (SIGSTOP) is noticed: its heartbeats stop, so within `--worker-stall-timeout` the gateway
/// answers `/ready` with 503 and ends the stream in flight with an error event instead of letting it hang. After
/// SIGCONT the heartbeats resume and the gateway serves again.
final class WorkerStallTests: XCTestCase {
    func testStoppedWorkerIsReportedAndRecoveredFrom() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-stall-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("worker.sock").path
        // SmolLM2 takes several seconds for 400 tokens, so the stop always lands mid-stream.
        let worker = try ServerProcess(executable: "scalellm-worker", arguments: [
            "--model", SharedData.smolLMGGUF, "--socket", socket, "--kv-cache-memory", "32MiB", "--heartbeat-interval", "0.2"])
        defer {
            kill(worker.process.processIdentifier, SIGCONT)
            worker.stop()
        }
        let gateway = try ServerProcess(executable: "scalellm-gateway", arguments: [
            "--model", SharedData.smolLMGGUF, "--worker-socket", socket, "--port", "0", "--worker-stall-timeout", "1.5"])
        defer { gateway.stop() }
        let port = try gateway.waitForPort()
        _ = try gateway.waitForLine(containing: "worker ready")
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/ready").status, 200)

        let stream = try HTTPTestClient(port: port)
        let body = #"{"prompt": "Once upon a time", "max_tokens": 400, "ignore_eos": true, "temperature": 0, "stream": true}"#
        try stream.startPost("/v1/completions", json: body)
        _ = try stream.readUntilText("data: {")
        XCTAssertEqual(kill(worker.process.processIdentifier, SIGSTOP), 0)

        // The stream ends with an error event naming the stall, then [DONE].
        _ = try stream.readUntilText("stalled")
        _ = try stream.readUntilText("data: [DONE]")
        let notReady = try HTTPTestClient(port: port).request("GET", "/ready")
        XCTAssertEqual(notReady.status, 503)
        XCTAssertTrue(notReady.text.contains("stalled"), notReady.text)
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/health").status, 200, "the gateway itself stays alive")

        XCTAssertEqual(kill(worker.process.processIdentifier, SIGCONT), 0)
        _ = try gateway.waitForLine(containing: "worker recovered")
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/ready").status, 200)
        let answer = try HTTPTestClient(port: port).request("POST", "/v1/completions",
                                                            json: #"{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
    }
}
