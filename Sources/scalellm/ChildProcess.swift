import Foundation

/// A child process started with `posix_spawn` (never `fork`: the parent may already have threads, and forking
/// a threaded process is unsafe). The child inherits the environment.
struct ChildProcess {
    let name: String
    let pid: pid_t

    static func spawn(name: String, executable: String, arguments: [String]) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw SpawnError(message: "\(executable) not found or not executable (build it with scripts/setup.sh)")
        }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&pid, executable, nil, nil, argv, environ)
        guard status == 0 else { throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(status)))") }
        return ChildProcess(name: name, pid: pid)
    }

    func signal(_ number: Int32) { kill(pid, number) }

    struct SpawnError: Error, CustomStringConvertible { let message: String; var description: String { message } }
}

/// How a child ended, from `waitpid`'s status.
enum ExitStatus: CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros that do not import into Swift.
        if status & 0x7F == 0 { self = .exited((status >> 8) & 0xFF) } else { self = .signalled(status & 0x7F) }
    }

    var isCleanExit: Bool { if case .exited(0) = self { return true } else { return false } }

    var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signalled(let signal): return "was killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}
