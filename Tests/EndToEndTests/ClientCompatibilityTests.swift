import Foundation
import XCTest
import TestSupport

/// Real clients against the real server: the official OpenAI Python client and Prometheus' parser (installed by
/// scripts/setup.sh into .cache/venv), and curl for the raw SSE framing.
final class ClientCompatibilityTests: XCTestCase {
    func testOfficialClientsAndCurl() throws {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = checkout.appendingPathComponent(".cache/venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return XCTFail("\(python) is missing: run scripts/setup.sh to install the test clients")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-clients-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("keys").path
        try "client-key\n".write(toFile: keyFile, atomically: true, encoding: .utf8)

        // fp32: the exact path, whose greedy text is HuggingFace's golden text token for token.
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.smolLMGGUF, "--port", "0", "--api-keys", keyFile,
                                                   "--kv-cache-memory", "128MiB", "--dtype", "fp32"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")
        let base = "http://127.0.0.1:\(port)"

        let golden = SharedData.root.appendingPathComponent("golden/smollm2-135m-instruct-q4_1/generation.json").path
        let check = try run(python, [checkout.appendingPathComponent("Tests/Clients/openai_client_check.py").path, base, "client-key", golden])
        XCTAssertEqual(check.status, 0, check.output)

        // curl sees SSE framing: `data: {json}` events separated by blank lines, ending with `data: [DONE]`.
        let curl = try run("/usr/bin/curl", ["-sN", "--max-time", "60", "-H", "Authorization: Bearer client-key", "-H", "Content-Type: application/json",
                                             "-d", #"{"prompt": "Once upon a time", "max_tokens": 5, "temperature": 0, "stream": true}"#,
                                             base + "/v1/completions"])
        XCTAssertEqual(curl.status, 0, curl.output)
        let events = curl.output.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        XCTAssertEqual(events.last, "data: [DONE]")
        for event in events.dropLast() {
            XCTAssertTrue(event.hasPrefix("data: {"), event)
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)), event)
        }
    }

    /// Runs a program to completion (bounded), returning its exit status and combined output.
    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        if done.wait(timeout: .now() + 300) == .timedOut {
            process.terminate()
            throw HTTPTestClient.ClientError(description: "\(executable) did not finish in 300 s")
        }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
