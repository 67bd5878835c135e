import Foundation

/// Runs a real `scalellm` command (built beside the test bundle) as a child process for end-to-end tests, reads
/// its standard error line by line to learn the port it bound and when the worker is ready, and stops it with
/// SIGTERM. Every wait has a deadline so a broken server fails the test instead of hanging it.
public final class ServerProcess: @unchecked Sendable {
    public let process = Process()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var ended = false
    private let exited = DispatchSemaphore(value: 0)
    private var stoppedStatus: Int32?

    /// The directory holding the built executables (the test bundle sits beside them).
    public static var binaries: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Starts `executable` with `arguments`; `environment` adds variables to (or replaces them in) the test's own.
    public init(executable: String = "scalellm", arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = Self.binaries.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock {
                if data.isEmpty {
                    self.ended = true
                    handle.readabilityHandler = nil
                } else {
                    self.lines += String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
                }
                self.lock.broadcast()
            }
        }
        process.terminationHandler = { [exited] _ in exited.signal() }
        try process.run()
    }

    /// Waits (up to `seconds`) for the `occurrence`-th stderr line containing `text` and returns it.
    public func waitForLine(containing text: String, occurrence: Int = 1, seconds: Double = 120) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        return try lock.withLock {
            while true {
                let matches = lines.filter { $0.contains(text) }
                if matches.count >= occurrence { return matches[occurrence - 1] }
                if ended || Date() > deadline {
                    throw HTTPTestClient.ClientError(description: "no line containing '\(text)'; stderr so far:\n" + lines.joined(separator: "\n"))
                }
                _ = lock.wait(until: min(deadline, Date().addingTimeInterval(1)))   // a timeout just re-checks
            }
        }
    }

    /// The port from the gateway's "listening on http://host:port" line.
    public func waitForPort() throws -> Int {
        let line = try waitForLine(containing: "listening on http://")
        // The digits right after the last ':' of "listening on http://host:port" (a JSON log line has more after them).
        let afterURL = (line.components(separatedBy: "listening on http://").last ?? "").prefix { $0.isNumber || $0.isLetter || ".:[]".contains($0) }
        guard let port = afterURL.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw HTTPTestClient.ClientError(description: "cannot read a port from '\(line)'")
        }
        return port
    }

    public var stderrText: String { lock.withLock { lines.joined(separator: "\n") } }

    /// Waits (up to `seconds`) for the end of standard error, which comes once every process writing it has exited:
    /// this one and any it started that inherited it (a worker's tensor-parallel ranks). Returns whether it came.
    public func waitForEndOfOutput(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        return lock.withLock {
            while !ended && Date() < deadline { _ = lock.wait(until: deadline) }
            return ended
        }
    }

    /// Waits up to `seconds` for the process to exit by itself; nil if it is still running.
    public func waitForExit(seconds: Double) -> Int32? {
        if let stoppedStatus { return stoppedStatus }
        guard exited.wait(timeout: .now() + seconds) == .success else { return nil }
        stoppedStatus = process.terminationStatus
        return process.terminationStatus
    }

    /// SIGTERM, then waits up to `seconds` for exit (SIGKILL after that); returns the exit status.
    @discardableResult
    public func stop(seconds: Double = 30) -> Int32 {
        if let stoppedStatus { return stoppedStatus }
        process.terminate()
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        stoppedStatus = process.terminationStatus
        return process.terminationStatus
    }
}
