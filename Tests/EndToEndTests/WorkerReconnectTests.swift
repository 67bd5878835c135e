import Foundation
import XCTest
import TestSupport

/// The gateway outlives its worker: while the worker is gone it reports not ready and answers 503; when a
/// worker comes back on the same socket the gateway reconnects by itself and serves again.
final class WorkerReconnectTests: XCTestCase {
    func testGatewayReconnectsToARestartedWorker() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-reconnect-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("worker.sock").path
        let workerArguments = ["--model", SharedData.storiesDirectory, "--socket", socket, "--kv-cache-memory", "4MiB"]

        var worker = try ServerProcess(executable: "scalellm-worker", arguments: workerArguments)
        defer { worker.stop() }
        let gateway = try ServerProcess(executable: "scalellm-gateway",
                                        arguments: ["--model", SharedData.storiesDirectory, "--worker-socket", socket, "--port", "0"])
        defer { gateway.stop() }
        let port = try gateway.waitForPort()
        _ = try gateway.waitForLine(containing: "worker ready")
        let body = #"{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}"#
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/ready").status, 200)
        XCTAssertEqual(try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body).status, 200)

        XCTAssertEqual(worker.stop(), 0)
        _ = try gateway.waitForLine(containing: "worker connection lost")
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/ready").status, 503)
        let unavailable = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body)
        XCTAssertEqual(unavailable.status, 503)
        XCTAssertEqual(unavailable.headers["retry-after"], "1")
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/health").status, 200, "the gateway itself stays alive")

        worker = try ServerProcess(executable: "scalellm-worker", arguments: workerArguments)
        _ = try gateway.waitForLine(containing: "worker ready", occurrence: 2)
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/ready").status, 200)
        XCTAssertEqual(try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body).status, 200)
    }
}
