import Foundation
import XCTest
@testable import ServingBenchmark
#if canImport(Glibc)
import Glibc
#endif

/// `StreamingCompletionClient` against a scripted loopback server: streamed usage, the bearer key, a kept-alive
/// connection the server had closed (retried once on a new one), an HTTP error, and a stalled server (deadline).
final class StreamingClientTests: XCTestCase {
    private let streamed = """
        HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
        43\r\ndata: {"choices":[{"index":0,"text":"a b","finish_reason":null}]}\n\n\r\n\
        46\r\ndata: {"choices":[{"index":0,"text":" c","finish_reason":"length"}]}\n\n\r\n\
        59\r\ndata: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}\n\n\r\n\
        e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n
        """

    func testStreamingKeepAliveErrorsAndDeadline() throws {
        let server = try ScriptedServer(steps: [
            .respond(streamed, thenClose: false),
            .respond(streamed, thenClose: true),  // the client reuses the connection for the next request...
            .respond(streamed, thenClose: false), // ...finds it closed, and retries on a new one.
            .respond("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"error\":{\"message\":\"bad key\",\"x\":1}}\r\n", thenClose: false),
            .stall,
        ])
        let client = StreamingCompletionClient(.init(url: ServerURL(host: "127.0.0.1", port: server.port), apiKey: "sk-test",
                                                     connectTimeout: 5, requestTimeout: 5))
        let origin = MonotonicClock.now()
        let body = RequestTemplate(maxTokens: 3).body(prompt: "Hi")
        for index in 0..<3 {
            let timing = client.stream(path: "/v1/completions", body: body, index: index, origin: origin)
            XCTAssertNil(timing.error, "request \(index)")
            XCTAssertEqual(timing.completionTokens, 3)
            XCTAssertEqual(timing.promptTokens, 2)
            XCTAssertEqual(timing.tokenChunkTimes.count, 2)
            XCTAssertLessThanOrEqual(timing.sendTime, timing.tokenChunkTimes[0])
            XCTAssertLessThanOrEqual(timing.tokenChunkTimes[1], timing.endTime)
        }
        let refused = client.stream(path: "/v1/completions", body: body, index: 3, origin: origin)
        XCTAssertEqual(refused.error, "HTTP 401: bad key")

        let stalled = StreamingCompletionClient(.init(url: ServerURL(host: "127.0.0.1", port: server.port), connectTimeout: 5, requestTimeout: 0.3))
        let timedOut = stalled.stream(path: "/v1/completions", body: body, index: 4, origin: origin)
        XCTAssertEqual(timedOut.error, "timed out after 0.3 s")
        XCTAssertGreaterThanOrEqual(timedOut.endToEndLatency, 0.3)
        stalled.disconnect()

        let requests = server.finish()
        XCTAssertEqual(requests.count, 5)
        XCTAssertEqual(server.connectionCount, 3)
        for request in requests.prefix(4) {
            XCTAssertTrue(request.hasPrefix("POST /v1/completions HTTP/1.1\r\n"), request)
            XCTAssertTrue(request.contains("\r\nAuthorization: Bearer sk-test\r\n"), request)
            XCTAssertTrue(request.contains("\"include_usage\":true"), request)
        }
        XCTAssertFalse(requests[4].contains("Authorization"))
    }
}

/// A one-thread loopback HTTP server that answers successive requests (on whichever connection they arrive)
/// from a script, and records them. Its socket reads time out after 5 s so a broken client cannot hang it.
final class ScriptedServer: @unchecked Sendable {
    enum Step {
        case respond(String, thenClose: Bool)
        /// Read the request, answer nothing, wait for the client to give up and close.
        case stall
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var requests: [String] = []
    private var connections = 0
    private let done = DispatchSemaphore(value: 0)

    init(steps: [Step]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound, listen(fd, 8) == 0 else { close(fd); throw NSError(domain: "ScriptedServer", code: Int(errno)) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Self.setTimeout(listener)
        let thread = Thread { [self] in
            serve(steps)
            done.signal()
        }
        thread.start()
    }

    /// Waits for the script to end (at most 20 s) and returns the requests received.
    func finish() -> [String] {
        _ = done.wait(timeout: .now() + 20)
        close(listener)
        return lock.withLock { requests }
    }

    var connectionCount: Int { lock.withLock { connections } }

    private static func setTimeout(_ fd: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private func serve(_ steps: [Step]) {
        var connection: Int32 = -1
        var buffer: [UInt8] = []
        for step in steps {
            // Read one request, accepting a new connection whenever the current one is closed.
            var request: String?
            for _ in 0..<4 where request == nil {
                if connection < 0 {
                    connection = accept(listener, nil, nil)
                    guard connection >= 0 else { return }
                    Self.setTimeout(connection)
                    buffer = []
                    lock.withLock { connections += 1 }
                }
                request = readRequest(connection, &buffer)
                if request == nil { close(connection); connection = -1 }
            }
            guard let request else { return }
            lock.withLock { requests.append(request) }
            switch step {
            case .respond(let text, let thenClose):
                let bytes = Array(text.utf8)
                _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if thenClose { close(connection); connection = -1 }
            case .stall:
                var scratch = [UInt8](repeating: 0, count: 1024)
                _ = scratch.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }  // returns when the client closes
                close(connection)
                connection = -1
            }
        }
        if connection >= 0 { close(connection) }
    }

    /// One request (head and Content-Length body), or nil when the connection closed or timed out first.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<1000 {
            if let end = buffer.indices.dropLast(3).first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if buffer.count >= end + 4 + length {
                    let request = String(decoding: buffer[..<(end + 4 + length)], as: UTF8.self)
                    buffer.removeFirst(end + 4 + length)
                    return request
                }
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
        return nil
    }
}
