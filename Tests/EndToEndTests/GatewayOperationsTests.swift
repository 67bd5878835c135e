import Foundation
import XCTest
import TestSupport

/// Operating the server: API keys (401 without, reload on SIGHUP), readiness, Prometheus metrics, and a client
/// that disconnects mid-stream freeing its KV blocks at once.
final class GatewayOperationsTests: XCTestCase {
    func testKeysReadinessMetricsAndDisconnect() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-ops-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("keys").path
        try "# operators\nkey-one\n\n".write(toFile: keyFile, atomically: true, encoding: .utf8)

        // The default model: slow enough that a long stream is still running when the client walks away.
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.smolLMGGUF, "--port", "0",
                                                   "--api-keys", keyFile, "--kv-cache-memory", "128MiB"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")
        let body = #"{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}"#
        func complete(key: String?) throws -> HTTPTestClient.Response {
            try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body,
                                                   headers: key.map { ["Authorization": "Bearer \($0)"] } ?? [:])
        }

        // Keys: /health open, the API closed without the right key.
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/health").status, 200)
        let missing = try complete(key: nil)
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual((try missing.json()["error"] as? [String: Any])?["code"] as? String, "invalid_api_key")
        XCTAssertEqual(try complete(key: "key-on").status, 401)
        XCTAssertEqual(try complete(key: "key-one").status, 200)
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/ready", headers: ["Authorization": "Bearer key-one"]).status, 200)

        // SIGHUP re-reads the key file.
        try "key-two\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(kill(try gatewayPID(of: server.process.processIdentifier), SIGHUP), 0)
        _ = try server.waitForLine(containing: "reloaded 1 API keys")
        XCTAssertEqual(try complete(key: "key-one").status, 401)
        XCTAssertEqual(try complete(key: "key-two").status, 200)

        // Metrics: open, Prometheus text, counting what happened above.
        let metrics = try HTTPTestClient(port: port).request("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") ?? false)
        let samples = Self.samples(metrics.text)
        XCTAssertEqual(samples[#"scalellm_requests_total{endpoint="/v1/completions",status="401"}"#], 3)
        XCTAssertEqual(samples[#"scalellm_requests_total{endpoint="/v1/completions",status="200"}"#], 2)
        XCTAssertEqual(samples["scalellm_time_to_first_token_seconds_count"], 2)
        XCTAssertEqual(samples["scalellm_generation_tokens_total"], 8)
        XCTAssertEqual(samples["scalellm_prompt_tokens_total"], 8)
        XCTAssertEqual(samples["scalellm_worker_ready"], 1)
        XCTAssertTrue(metrics.text.contains("# TYPE scalellm_e2e_request_latency_seconds histogram"))

        // A client that disconnects mid-stream: its sequence is cancelled and its KV blocks freed.
        let streaming = try HTTPTestClient(port: port)
        let streamBody = #"{"prompt": "Once", "max_tokens": 2000, "stream": true, "ignore_eos": true}"#
        try streaming.sendRaw(Array(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-two\r\n" +
            "Content-Type: application/json\r\nContent-Length: \(streamBody.utf8.count)\r\n\r\n" + streamBody).utf8))
        _ = try streaming.readUntilText("data: ")   // generation has started
        // The worker's status reaches /metrics once a second: poll, bounded by a deadline.
        let deadline = Date().addingTimeInterval(20)
        var busy = false
        while !busy && Date() < deadline {
            busy = (Self.samples(try HTTPTestClient(port: port).request("GET", "/metrics").text)["scalellm_num_requests_running"] ?? 0) > 0
        }
        XCTAssertTrue(busy, "the streamed request never showed as running")
        streaming.close()
        // Cancelling is immediate; the bound covers the once-a-second status poll behind /metrics.
        let closed = Date()
        var freed = false
        var now: [String: Double] = [:]
        while !freed && Date() < closed.addingTimeInterval(5) {
            now = Self.samples(try HTTPTestClient(port: port).request("GET", "/metrics").text)
            freed = now["scalellm_num_requests_running"] == 0 && now["scalellm_kv_cache_usage_ratio"] == 0
        }
        XCTAssertTrue(freed, "KV blocks of the disconnected client were not freed within 5 s")
        XCTAssertEqual(now[#"scalellm_requests_total{endpoint="/v1/completions",status="499"}"#], 1, "the abandoned request is counted")
    }

    func testBackpressureQueuesThenAnswers503WithRetryAfter() throws {
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.smolLMGGUF, "--port", "0", "--kv-cache-memory", "64MiB",
                                                   "--max-num-seqs", "1", "--max-waiting-seqs", "0", "--queue-timeout", "0.5"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")

        // One long stream fills the engine's single slot.
        let long = try HTTPTestClient(port: port)
        let body = #"{"prompt": "Once", "max_tokens": 1000, "stream": true, "ignore_eos": true}"#
        try long.sendRaw(Array(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8))
        _ = try long.readUntilText("data: ")

        // A second request waits for the queue timeout, then gets 503 with Retry-After.
        let refused = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: #"{"prompt": "Hi", "max_tokens": 2}"#)
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        XCTAssertEqual((try refused.json()["error"] as? [String: Any])?["code"] as? String, "overloaded")

        // A queued request is admitted as soon as the slot frees (the long stream's client goes away).
        let waiting = try HTTPTestClient(port: port)
        try waiting.sendRaw(Array(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            "Content-Length: 44\r\n\r\n" + #"{"prompt": "Hi", "max_tokens": 2, "seed": 1}"#).utf8))
        long.close()
        XCTAssertEqual(try waiting.readResponse().status, 200)
    }

    /// `name{labels}` → value for every sample line.
    private static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    /// The gateway child of a `scalellm serve` process, from /proc.
    private func gatewayPID(of parent: Int32) throws -> Int32 {
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8) else { continue }
            let fields = Dictionary(stat.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { a, _ in a })
            if fields["PPid"] == String(parent), fields["Name"]?.hasPrefix("scalellm-gatewa") == true { return pid }
        }
        struct GatewayNotFound: Error {}
        throw GatewayNotFound()
    }
}
