#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a process still runs. `kill(pid, 0)` alone is not enough: a child that was killed stays a zombie (and
/// `kill` keeps succeeding) until its parent reaps it, and the parent is often the very rank waiting for it. On
/// Linux a zombie is recognised by the state letter in `/proc/<pid>/stat`.
enum ProcessLiveness {
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        #if os(Linux)
        if let state = procState(pid), state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") { return false }
        #endif
        return true
    }

    /// The state letter of `/proc/<pid>/stat` (the field after the parenthesised command name), nil if unreadable.
    static func procState(_ pid: Int32) -> UInt8? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        // "pid (comm) S ..."; comm may itself contain ')' so take the last one.
        guard let paren = buffer[..<n].lastIndex(of: UInt8(ascii: ")")), paren + 2 < n else { return nil }
        return buffer[paren + 2]
    }
}
