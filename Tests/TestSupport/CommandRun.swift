import Foundation

/// How a command run by `CommandRun.run` ended, with everything it printed.
public struct CommandOutcome {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// False when the command had to be killed at its deadline.
    public var exitedInTime: Bool
}

/// Runs one of the built executables to its end, for tests of command-line tools: output goes through files in a
/// scratch directory (no pipe can fill up), and a command still running at the deadline is killed.
public enum CommandRun {
    /// Runs `executable` with `arguments` for at most `seconds`; `environment` adds variables to (or replaces them
    /// in) the test's own.
    public static func run(_ arguments: [String], executable: String = "scalellm", environment: [String: String] = [:],
                           seconds: Double = 60) throws -> CommandOutcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-run-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        let process = Process()
        process.executableURL = ServerProcess.binaries.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        var inTime = true
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            inTime = false
        }
        return CommandOutcome(status: process.terminationStatus,
                              stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                              stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self),
                              exitedInTime: inTime)
    }
}
