import Foundation
import LoopIO
import WireProtocol

/// A worker's admin socket: a Unix stream socket (mode 0600, see `UnixSocketListener`) that speaks
/// newline-delimited JSON, so that `scalellm admin` and plain `socat` can use it.
///
/// Each request line is an object `{"command": "status" | "drain" | "shutdown"}`; each gets exactly one reply line,
/// `{"ok": true, ...}` or `{"ok": false, "code": ..., "error": ...}`. Malformed JSON, a missing or unknown command
/// keep the connection open; a line over `maxLineBytes` is answered and the connection closed (the stream is out
/// of sync). `shutdown` replies before the worker stops; a target that refuses `drain` or `shutdown` (a
/// tensor-parallel follower) gets its refusal's code and message as the error reply. Connections are handles on
/// the worker's event loop (at most `maxConnections`, beyond which a connection is answered `busy` and closed;
/// idle ones are closed after `idleTimeout`). Loop thread only, apart from `init` (it is `Sendable` so that
/// closures posted to its loop can carry it).
final class AdminServer: @unchecked Sendable {
    static let maxLineBytes = 64 << 10
    static let maxConnections = 8
    static let idleTimeoutMilliseconds: UInt64 = 300_000

    private let socket: UnixSocketListener
    private let loop: EventLoop
    private var listener: PipeListener?
    private var connections: [ObjectIdentifier: AdminConnection] = [:]

    /// Binds `path` now, so that a bad or busy path fails the worker's start.
    init(path: String, loop: EventLoop) throws(WireError) {
        socket = try UnixSocketListener(path: path, backlog: 8)
        self.loop = loop
    }

    var path: String { socket.path }

    /// Starts accepting (on the loop thread, or before the loop runs).
    func start(serving target: some AdminTarget) throws(LoopIOError) {
        listener = try PipeListener(loop: loop, descriptor: socket.takeDescriptor(), backlog: 8) { [unowned self] stream in
            let connection = AdminConnection(stream: stream, target: target) { [unowned self] closed in
                connections[ObjectIdentifier(closed)] = nil
            }
            guard connections.count < Self.maxConnections else {
                return connection.refuse(Self.error("busy", "too many admin connections (at most \(Self.maxConnections))"))
            }
            connections[ObjectIdentifier(connection)] = connection
            connection.start()
        }
    }

    /// Stops accepting, closes open admin connections and removes the socket file. Loop thread only; idempotent.
    func stop() {
        listener?.close()
        listener = nil
        for connection in connections.values { connection.close() }
        socket.close()
    }

    /// The reply to one request line, and what to do once it is sent.
    static func handle(_ line: [UInt8], _ target: some AdminTarget) -> (reply: [UInt8], afterwards: (() -> Void)?) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)), let request = object as? [String: Any] else {
            return (error("malformed_request", #"expected one JSON object per line, such as {"command": "status"}"#), nil)
        }
        guard let command = request["command"] as? String else {
            return (error("malformed_request", #"the request needs a "command" string: status, drain or shutdown"#), nil)
        }
        switch command {
        case "status":
            return (ok(target.adminStatus().jsonObject), nil)
        case "drain":
            do throws(AdminRefusal) {
                let state = try target.drain()
                return (ok(["draining": state.draining, "running": state.engine.running, "waiting": state.engine.waiting]), nil)
            } catch {
                return (Self.error(error.code, error.message), nil)
            }
        case "shutdown":
            do throws(AdminRefusal) {
                return (ok(["stopping": true]), try target.shutdown())
            } catch {
                return (Self.error(error.code, error.message), nil)
            }
        default:
            let shown = command.count > 64 ? String(command.prefix(64)) + "…" : command
            return (error("unknown_command", "unknown command \"\(shown)\"; commands: status, drain, shutdown"), nil)
        }
    }

    private static func ok(_ fields: [String: Any]) -> [UInt8] {
        encode(fields.merging(["ok": true]) { _, new in new })
    }

    static func error(_ code: String, _ message: String) -> [UInt8] {
        encode(["ok": false, "code": code, "error": message])
    }

    private static func encode(_ object: [String: Any]) -> [UInt8] {
        // Every value is a string, a finite number, a bool or null, so serialisation cannot fail.
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(#"{"ok":false}"#.utf8))
    }
}

/// The client side of the admin socket, for `scalellm admin` and tests.
public enum AdminClient {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends one request line to the admin socket at `path` and returns the reply line.
    public static func exchange(path: String, request: [UInt8], timeout: Duration = .seconds(10)) throws(WireError) -> [UInt8] {
        let socket = try BlockingLineSocket.connect(path: path, maxLineBytes: 16 << 20)
        defer { socket.close() }
        try socket.writeLine(request)
        return try socket.readLine(timeout: timeout)
    }

    /// Sends `{"command": command}` and returns the reply's text and parsed object.
    public static func send(_ command: String, to path: String, timeout: Duration = .seconds(10)) throws -> (text: String, reply: [String: Any]) {
        let request = try JSONSerialization.data(withJSONObject: ["command": command], options: [.sortedKeys])
        let line = try exchange(path: path, request: Array(request), timeout: timeout)
        guard let reply = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw Failure(description: "the admin socket answered something that is not a JSON object: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        return (String(decoding: line, as: UTF8.self), reply)
    }
}
