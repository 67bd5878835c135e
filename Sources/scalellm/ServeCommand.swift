import ArgumentParser
import Foundation

/// `scalellm serve`: starts one engine worker and the gateway as child processes and supervises them. SIGINT
/// or SIGTERM stops both; if either dies on its own the other is stopped and serve exits non-zero, naming the
/// child and how it died, so a process supervisor (systemd) restarts the pair.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Start the OpenAI-compatible server (worker + gateway).")

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var dtypeOption: DTypeOption
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "TCP port to listen on (0: any free port, printed at start).") var port: Int = 8000
    @Option(help: "Unix socket between gateway and worker (default: a private temporary directory).") var socket: String?
    @Option(help: "KV-cache memory of the worker: bytes (512MiB) or a fraction of available memory (0.2).") var kvCacheMemory: String = "256MiB"
    @Option(help: "Largest accepted request body in bytes.") var maxBodyBytes: Int = 1 << 20

    func run() throws {
        let model = try modelOption.resolvedPath()
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var temporaryDirectory: String?
        let socketPath: String
        if let socket {
            socketPath = socket
        } else {
            var template = Array((NSTemporaryDirectory() + "/scalellm-XXXXXX").utf8CString)
            guard let dir = mkdtemp(&template) else { throw ValidationError("cannot create a temporary directory") }
            temporaryDirectory = String(cString: dir)
            socketPath = temporaryDirectory! + "/worker.sock"
        }
        defer { if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) } }

        // Signals are handled by a dispatch source, so block their default action first.
        var stopRequested = false
        let lock = NSLock()
        var children: [ChildProcess] = []
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                lock.withLock { stopRequested = true }
                lock.withLock { children }.forEach { $0.signal(SIGTERM) }
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        let worker = try ChildProcess.spawn(name: "worker", executable: binaries.appendingPathComponent("scalellm-worker").path,
                                            arguments: ["--model", model, "--socket", socketPath, "--kv-cache-memory", kvCacheMemory,
                                                        "--dtype", dtypeOption.dtype.rawValue])
        lock.withLock { children.append(worker) }
        let gateway: ChildProcess
        do {
            gateway = try ChildProcess.spawn(name: "gateway", executable: binaries.appendingPathComponent("scalellm-gateway").path,
                                             arguments: ["--model", model, "--worker-socket", socketPath, "--host", host,
                                                         "--port", String(port), "--max-body-bytes", String(maxBodyBytes)])
        } catch {
            worker.signal(SIGTERM)
            var status: Int32 = 0
            waitpid(worker.pid, &status, 0)
            throw error
        }
        lock.withLock { children.append(gateway) }

        var failed = false
        var running = [worker.pid: worker, gateway.pid: gateway]
        while !running.isEmpty {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 {
                if errno == EINTR { continue }
                break
            }
            guard let child = running.removeValue(forKey: pid) else { continue }
            let exit = ExitStatus(waitStatus: status)
            if !lock.withLock({ stopRequested }) || !exit.isCleanExit {
                FileHandle.standardError.write(Data("scalellm serve: the \(child.name) (pid \(pid)) \(exit)\n".utf8))
                failed = failed || !lock.withLock({ stopRequested }) || !exit.isCleanExit
                running.values.forEach { $0.signal(SIGTERM) }
            }
        }
        if failed { throw ExitCode.failure }
    }
}
