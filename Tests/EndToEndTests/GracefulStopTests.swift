import Foundation
import XCTest
import TestSupport

/// SIGTERM under load — to `scalellm serve` alone, or to every process of the group at once as systemd's
/// control-group stop and a terminal's Ctrl-C deliver it — lets every request in flight finish (within
/// `--grace-period`), then serve exits 0 and leaves no socket behind.
final class GracefulStopTests: XCTestCase {
    private func assertStreamsFinishAfterSIGTERM(toWholeGroup: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-graceful-\(getpid())-\(toWholeGroup)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.smolLMGGUF, "--port", "0", "--kv-cache-memory", "32MiB",
                                                   "--socket", directory.appendingPathComponent("w.sock").path, "--grace-period", "120"])
        defer { server.stop() }
        let port = try server.waitForPort()
        let started = try server.waitForLine(containing: "gateway pid")
        _ = try server.waitForLine(containing: "worker ready")

        // Four streams of 96 tokens, each under way (first event read) before the signal.
        let body = #"{"prompt": "Once upon a time", "max_tokens": 96, "ignore_eos": true, "temperature": 0, "stream": true}"#
        let streams = try (0..<4).map { _ in try HTTPTestClient(port: port, timeoutSeconds: 120) }
        for stream in streams {
            try stream.startPost("/v1/completions", json: body)
        }
        for stream in streams { _ = try stream.readUntilText("data: {") }

        var targets = [server.process.processIdentifier]
        if toWholeGroup {
            let pids = started.components(separatedBy: " pid ").dropFirst().compactMap { Int32($0.prefix { $0.isNumber }) }
            XCTAssertEqual(pids.count, 2, started, file: file, line: line)
            targets += pids
        }
        for pid in targets { XCTAssertEqual(kill(pid, SIGTERM), 0, file: file, line: line) }

        for stream in streams {
            _ = try stream.readUntilText(#""finish_reason":"length""#)
            _ = try stream.readUntilText("data: [DONE]")
        }
        XCTAssertEqual(server.waitForExit(seconds: 60), 0, server.stderrText, file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "sockets left behind", file: file, line: line)
    }

    func testSIGTERMToServeLetsStreamsFinish() throws {
        try assertStreamsFinishAfterSIGTERM(toWholeGroup: false)
    }

    func testSIGTERMToTheWholeGroupLetsStreamsFinish() throws {
        try assertStreamsFinishAfterSIGTERM(toWholeGroup: true)
    }
}
