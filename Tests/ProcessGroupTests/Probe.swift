import Foundation
import XCTest

/// The `scalellm-shm-probe` executable, built beside the test bundle (`/proc/self/exe`'s directory).
func probePath() throws -> String {
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = (executable as NSString).deletingLastPathComponent + "/scalellm-shm-probe"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw Mismatch(text: "\(path) not found: build it first (swift build --build-tests builds every target)")
    }
    return path
}

/// A probe process started with posix_spawn (the test process has threads: no fork). Killed on deinit if still
/// running.
final class ProbeProcess {
    let pid: pid_t
    private var reaped = false

    init(_ arguments: [String]) throws {
        let path = try probePath()
        var pid: pid_t = 0
        let words = [path] + arguments
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&pid, path, nil, nil, argv, environ)
        guard status == 0 else { throw Mismatch(text: "posix_spawn: \(String(cString: strerror(status)))") }
        self.pid = pid
    }

    /// Waits for the process to end (polling `waitpid` with WNOHANG until `timeout`) and returns the raw status.
    func wait(timeout: Double = 60) throws -> Int32 {
        let start = ContinuousClock.now
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { reaped = true; return status }
            if result < 0 { throw Mismatch(text: "waitpid: \(String(cString: strerror(errno)))") }
            if seconds(since: start) > timeout { throw Mismatch(text: "probe \(pid) still running after \(timeout) s") }
            usleep(1000)  // polling a child's exit, bounded by the timeout
        }
    }

    deinit {
        if !reaped {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// The probe's deterministic data (same formulas as `ProbeData` in Sources/scalellm-shm-probe).
enum ProbeData {
    static func value(rank: Int, iteration: Int, index: Int) -> Float {
        Float((index &* 31 &+ iteration &* 17 &+ rank &* 101) % 199) - 99
    }

    static func plan(_ number: Int) -> [UInt8] {
        (0..<(number * 37 % 300)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ number) }
    }
}
