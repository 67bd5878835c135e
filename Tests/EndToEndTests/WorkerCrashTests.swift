import Foundation
import XCTest
import TestSupport

/// A worker that dies is reported, not hidden: `scalellm serve` stops the gateway too and exits non-zero with a
/// line naming the worker and the signal that killed it, so a process supervisor restarts the pair.
final class WorkerCrashTests: XCTestCase {
    func testKilledWorkerIsReportedAndServeExitsNonZero() throws {
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.storiesDirectory, "--port", "0",
                                                   "--kv-cache-memory", "8MiB"])
        defer { server.stop() }
        _ = try server.waitForPort()
        let ready = try server.waitForLine(containing: "worker ready")
        let pidText = try XCTUnwrap(ready.components(separatedBy: "pid ").last?.split(separator: ",").first)
        let pid = try XCTUnwrap(Int32(pidText))

        XCTAssertEqual(kill(pid, SIGKILL), 0)
        let status = try XCTUnwrap(server.waitForExit(seconds: 30), "serve kept running after its worker died")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(server.stderrText.contains("the worker (pid \(pid)) was killed by signal 9"), server.stderrText)
    }
}
