import ArgumentParser
import EngineWorker
import Foundation

/// `scalellm admin SOCKET status|drain|shutdown [--json]`: talks to a worker's admin socket (newline-delimited
/// JSON, see `AdminServer`). Prints a readable table (or the raw reply with `--json`); exits non-zero with a
/// message on stderr when the socket cannot be reached or the worker answers an error.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Query or control a running worker through its admin socket.",
        discussion: """
            status: model, sequences, KV blocks, prefix-cache hits, steps/s, step times, tokens/s.
            drain: admit no new requests (503 'draining'); running ones finish.
            shutdown: stop the worker (under 'scalellm serve', the gateway too).
            A tensor-parallel rank R > 0 has its own socket, <admin socket>.rank<R>: its status shows
            its own steps; drain and shutdown go to rank 0's socket.
            The socket takes one JSON object per line, for example:
              echo '{"command":"status"}' | socat - UNIX:SOCKET
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case status, drain, shutdown
    }

    @Argument(help: "The worker's admin socket (scalellm serve logs it; default <worker socket>.admin).") var socket: String
    @Argument(help: "status, drain or shutdown.") var action: Action
    @Flag(help: "Print the worker's JSON reply as it is.") var json = false

    func run() throws {
        let text: String, reply: [String: Any]
        do {
            (text, reply) = try AdminClient.send(action.rawValue, to: socket)
        } catch {
            fail("cannot talk to the admin socket \(socket): \(error) (is the worker running, and is this its admin socket?)")
        }
        guard (reply["ok"] as? Bool) == true else {
            if json { print(text) }
            fail("the worker refused '\(action.rawValue)': \(reply["error"] as? String ?? text)")
        }
        if json {
            print(text)
            return
        }
        switch action {
        case .status:
            print(WorkerStatus.table(reply))
        case .drain:
            print("draining: new requests are refused; \(reply["running"] ?? "?") running and \(reply["waiting"] ?? "?") waiting will finish")
        case .shutdown:
            print("the worker is shutting down")
        }
    }

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("scalellm admin: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
