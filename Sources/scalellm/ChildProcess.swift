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
