import Foundation
import XCTest
import ModelFormats
import TestSupport
@testable import EngineWorker

/// A `WorkerServer` on stories260K in a private temporary directory, running on its own thread: what the worker
/// tests share.
struct StoriesWorkerFixture {
    let directory: URL
    let server: WorkerServer
    private let done = DispatchSemaphore(value: 0)

    var socketPath: String { directory.appendingPathComponent("w.sock").path }
    var adminPath: String { directory.appendingPathComponent("w.admin").path }

    /// Starts the server (with an admin socket when `admin`); heartbeats default to rare enough not to interleave
    /// with the frames a test expects.
    init(_ name: String, admin: Bool = false, configure: (inout WorkerServer.Options) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-\(name)-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let model = try DecoderModel(checkpoint: ModelCheckpoint(path: SharedData.storiesDirectory))
        let engine = try Engine(model: model, configuration: EngineConfiguration(kvCacheBytes: 4 << 20))
        var options = WorkerServer.Options()
        options.heartbeatIntervalMilliseconds = 600_000
        configure(&options)
        let socketPath = directory.appendingPathComponent("w.sock").path
        let adminPath = admin ? directory.appendingPathComponent("w.admin").path : nil
        server = try WorkerServer(engine: engine, modelID: "stories260K", socketPath: socketPath, adminSocketPath: adminPath,
                                  options: options)
        let server = self.server, done = self.done
        Thread {
            do { try server.run() } catch { XCTFail("the worker failed to start: \(error)") }
            done.signal()
        }.start()
    }

    /// Waits up to 30 s for `run()` to return (after `stop()` or a shutdown command).
    func waitUntilStopped() -> Bool { done.wait(timeout: .now() + 30) == .success }

    /// Stops the server, checks that it stopped and left no socket file, and removes the directory.
    func tearDown(alreadyStopped: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        server.stop()
        if !alreadyStopped { XCTAssertTrue(waitUntilStopped(), "worker did not stop", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "socket file left behind", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: adminPath), "admin socket file left behind", file: file, line: line)
        try? FileManager.default.removeItem(at: directory)
    }
}
