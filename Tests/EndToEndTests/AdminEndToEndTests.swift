import Foundation
import XCTest
import TestSupport

/// `scalellm serve --admin-socket` with the real `scalellm admin` executable: a status table and its JSON, a
/// private socket file, drain (new completions get 503 "draining") and shutdown (serve exits 0, the socket is gone).
final class AdminEndToEndTests: XCTestCase {
    func testStatusDrainAndShutdownThroughTheCLI() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-admin-e2e-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let adminSocket = directory.appendingPathComponent("admin.sock").path

        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.storiesDirectory, "--port", "0",
                                                   "--kv-cache-memory", "8MiB", "--admin-socket", adminSocket])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")
        XCTAssertTrue(try server.waitForLine(containing: "gateway pid").contains("admin socket \(adminSocket)"))
        // Over 16 tokens, so that the second request reuses a cached block of the first.
        let body = #"{"prompt": "Once upon a time there was a little girl named Lily. She loved to play outside", "max_tokens": 6, "temperature": 0}"#
        for _ in 0..<2 {
            XCTAssertEqual(try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body).status, 200)
        }

        var st = stat()
        XCTAssertEqual(lstat(adminSocket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        // The readable table.
        let table = try CommandRun.run(["admin", adminSocket, "status"])
        XCTAssertEqual(table.status, 0, table.stderr)
        for expected in ["role                   scheduler", "model                  stories260K", "tensor parallel size   1",
                         "0 running, 0 waiting", "requests completed     2", "state                  serving", "step time"] {
            XCTAssertTrue(table.stdout.contains(expected), "no '\(expected)' in:\n\(table.stdout)")
        }
        // The same as JSON.
        let json = try CommandRun.run(["admin", adminSocket, "status", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let status = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], json.stdout)
        XCTAssertEqual(status["ok"] as? Bool, true)
        XCTAssertEqual(status["model"] as? String, "stories260K")
        XCTAssertEqual((status["requests_completed"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual((status["tp_size"] as? NSNumber)?.intValue, 1)
        XCTAssertGreaterThanOrEqual((status["steps"] as? NSNumber)?.intValue ?? 0, 12)
        XCTAssertGreaterThan((status["prefix_cache_hit_rate"] as? NSNumber)?.doubleValue ?? 0, 0, "the repeated prompt should hit the cache")

        // Drain: new completions are refused with 503, and status says so.
        let drain = try CommandRun.run(["admin", adminSocket, "drain"])
        XCTAssertEqual(drain.status, 0, drain.stderr)
        XCTAssertTrue(drain.stdout.contains("draining"), drain.stdout)
        let refused = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body)
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertEqual((try refused.json()["error"] as? [String: Any])?["code"] as? String, "draining")
        XCTAssertTrue(try CommandRun.run(["admin", adminSocket, "status"]).stdout.contains("draining"))
        // The gateway learns it from the worker's status frame (polled once a second) and reports not ready,
        // so a load balancer stops sending. Bounded by a deadline.
        let deadline = Date().addingTimeInterval(20)
        var notReady = false
        while !notReady && Date() < deadline {
            notReady = try HTTPTestClient(port: port).request("GET", "/ready").status == 503
        }
        XCTAssertTrue(notReady, "/ready kept answering 200 while the worker drains")

        // Shutdown: the worker stops, serve stops the gateway and exits 0, the socket file is gone.
        let shutdown = try CommandRun.run(["admin", adminSocket, "shutdown"])
        XCTAssertEqual(shutdown.status, 0, shutdown.stderr)
        XCTAssertEqual(server.waitForExit(seconds: 30), 0, server.stderrText)
        XCTAssertTrue(server.stderrText.contains("shut down on request"), server.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: adminSocket))

        // A missing socket is a clear non-zero exit.
        let missing = try CommandRun.run(["admin", adminSocket, "status"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("cannot talk to the admin socket \(adminSocket)"), missing.stderr)
        XCTAssertEqual(missing.stdout, "")
    }

    func testUsageErrors() throws {
        let unknown = try CommandRun.run(["admin", "/nonexistent.sock", "reboot"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("reboot"), unknown.stderr)
    }
}
