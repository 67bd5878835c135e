import ArgumentParser
import CommandLineOptions
import Foundation
import Logging
import LoopIO
import Supervision

/// `scalellm serve`: starts one engine worker and the gateway as child processes and supervises them
/// (`SupervisorStateMachine`). A worker that crashes is restarted with exponential backoff while the gateway stays
/// up and answers 503 with `Retry-After` (its in-flight requests end with an error); after more than
/// `--max-restarts` crashes within `--restart-window` seconds serve stops, says why and exits non-zero, as it
/// does when the gateway dies, so that a supervisor above it (systemd) can take over. SIGINT or SIGTERM stops
/// both and exits 0. A worker that exits cleanly by itself was stopped on purpose (`scalellm admin SOCKET
/// shutdown`): serve then stops the gateway and exits 0.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Start the OpenAI-compatible server (worker + gateway).")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Unix socket between gateway and worker (default: a private temporary directory).") var socket: String?
    @Option(help: "The worker's admin socket for 'scalellm admin' (default: <socket>.admin).") var adminSocket: String?
    @OptionGroup(title: "Gateway") var gatewayFlags: GatewayFlags
    @OptionGroup(title: "Engine") var engine: EngineOptions
    @Option(help: "Worker crashes tolerated within --restart-window seconds; one more and serve gives up (exits non-zero).")
    var maxRestarts: Int = 5
    @Option(help: "Seconds over which worker crashes are counted.") var restartWindow: Double = 60
    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws {
        guard (0...1000).contains(maxRestarts), (1...86_400).contains(restartWindow) else {
            throw ValidationError("--max-restarts must be 0…1000 and --restart-window 1…86400 seconds")
        }
    }

    func run() throws {
        logging.bootstrap()
        let log = Logger(label: "scalellm.serve")
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
        let events = SupervisorEvents()
        let sources = [SIGINT, SIGTERM, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { events.post(number == SIGHUP ? .reload : .stop) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        let workerExecutable = binaries.appendingPathComponent("scalellm-worker").path
        let workerArguments = ["--model", model, "--socket", socketPath, "--admin-socket", adminPath,
                               "--grace-period", String(gatewayFlags.gracePeriod)] + engine.arguments + logging.arguments
        var children: [SupervisorStateMachine.Child: ChildProcess] = [:]
        children[.worker] = try ChildProcess.spawn(name: "worker", executable: workerExecutable, arguments: workerArguments)
        do {
            children[.gateway] = try ChildProcess.spawn(name: "gateway", executable: binaries.appendingPathComponent("scalellm-gateway").path,
                                                        arguments: ["--model", model, "--worker-socket", socketPath] + gatewayFlags.arguments + logging.arguments)
        } catch {
            children[.worker]?.signal(SIGTERM)
            var status: Int32 = 0
            waitpid(children[.worker]!.pid, &status, 0)
            throw error
        }
        children.values.forEach(events.watch)
        log.info("worker pid \(children[.worker]!.pid), gateway pid \(children[.gateway]!.pid), worker socket \(socketPath), admin socket \(adminPath)")

        var machine = SupervisorStateMachine(maxRestarts: maxRestarts, restartWindow: restartWindow,
                                             stopTimeout: gatewayFlags.gracePeriod + 10)
        while true {
            let deadline = machine.nextDeadline.map { Date(timeIntervalSinceNow: max(0, $0 - monotonicSeconds())) }
            var actions: [SupervisorStateMachine.Action]
            switch events.next(until: deadline) {
            case .exited(let pid, let status)?:
                guard let child = children.first(where: { $0.value.pid == pid })?.key else { continue }
                children[child] = nil
                actions = machine.exited(child, pid: pid, ExitStatus(waitStatus: status), at: monotonicSeconds())
            case .stop?:
                actions = machine.stopRequested(at: monotonicSeconds())
            case .reload?:
                children[.gateway]?.signal(SIGHUP)
                actions = []
            case nil:
                actions = machine.tick(at: monotonicSeconds())
            }
            while !actions.isEmpty {
                switch actions.removeFirst() {
                case .startWorker:
                    do {
                        let worker = try ChildProcess.spawn(name: "worker", executable: workerExecutable, arguments: workerArguments)
                        children[.worker] = worker
                        events.watch(worker)
                        log.notice("restarted the worker: pid \(worker.pid)")
                    } catch {
                        actions += machine.restartFailed("\(error)")
                    }
                case .stopChildren:
                    children.values.forEach { $0.signal(SIGTERM) }
                case .killChildren:
                    children.values.forEach { $0.signal(SIGKILL) }
                case .log(let message):
                    log.warning("\(message)")
                case .exit(let success):
                    if !success { throw ExitCode.failure }
                    return
                }
            }
        }
    }
}
