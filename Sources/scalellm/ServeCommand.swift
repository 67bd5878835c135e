import ArgumentParser
import CommandLineOptions
import Foundation

/// `scalellm serve`: starts one engine worker and the gateway as child processes and supervises them. SIGINT
/// or SIGTERM stops both; if either dies on its own the other is stopped and serve exits non-zero, naming the
/// child and how it died, so a process supervisor (systemd) restarts the pair. A worker that exits cleanly by
/// itself was stopped on purpose (`scalellm admin SOCKET shutdown`): serve then stops the gateway and exits 0.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Start the OpenAI-compatible server (worker + gateway).")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Unix socket between gateway and worker (default: a private temporary directory).") var socket: String?
    @Option(help: "The worker's admin socket for 'scalellm admin' (default: <socket>.admin).") var adminSocket: String?
    @OptionGroup(title: "Gateway") var gatewayFlags: GatewayFlags
    @OptionGroup(title: "Engine") var engine: EngineOptions

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
        let adminPath = adminSocket ?? socketPath + ".admin"

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
                                            arguments: ["--model", model, "--socket", socketPath, "--admin-socket", adminPath] + engine.arguments)
        lock.withLock { children.append(worker) }
        let gateway: ChildProcess
        do {
            gateway = try ChildProcess.spawn(name: "gateway", executable: binaries.appendingPathComponent("scalellm-gateway").path,
                                             arguments: ["--model", model, "--worker-socket", socketPath] + gatewayFlags.arguments)
        } catch {
            worker.signal(SIGTERM)
            var status: Int32 = 0
            waitpid(worker.pid, &status, 0)
            throw error
        }
        lock.withLock { children.append(gateway) }
        FileHandle.standardError.write(Data("scalellm serve: worker pid \(worker.pid), gateway pid \(gateway.pid), worker socket \(socketPath), admin socket \(adminPath)\n".utf8))

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
            if child.pid == worker.pid, exit.isCleanExit, !lock.withLock({ stopRequested }) {
                // Only a requested stop ends a worker cleanly: here the admin socket's `shutdown`. Stop the pair.
                FileHandle.standardError.write(Data("scalellm serve: the worker (pid \(pid)) shut down on request; stopping the gateway\n".utf8))
                lock.withLock { stopRequested = true }
                running.values.forEach { $0.signal(SIGTERM) }
                continue
            }
            if !lock.withLock({ stopRequested }) || !exit.isCleanExit {
                FileHandle.standardError.write(Data("scalellm serve: the \(child.name) (pid \(pid)) \(exit)\n".utf8))
                failed = failed || !lock.withLock({ stopRequested }) || !exit.isCleanExit
                running.values.forEach { $0.signal(SIGTERM) }
            }
        }
        if failed { throw ExitCode.failure }
    }
}
