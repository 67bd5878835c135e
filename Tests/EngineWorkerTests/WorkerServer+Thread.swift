import Foundation
import XCTest
@testable import EngineWorker

extension WorkerServer {
    /// Runs the server on a new thread (its loop thread) and signals `done` when `run()` returns; a failure to
    /// start fails the test.
    func runOnThread(signalling done: DispatchSemaphore) {
        Thread { [self] in
            do { try run() } catch { XCTFail("the worker failed to start: \(error)") }
            done.signal()
        }.start()
    }
}
