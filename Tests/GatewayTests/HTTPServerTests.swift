import LoopIO
import XCTest
import Foundation
@testable import Gateway

/// Keeps loop-thread objects (responders) reachable from the test thread; touched only inside `loop.execute`.
final class ResponderBox: @unchecked Sendable {
    var responder: HTTPResponder?
    var closeCount = 0
}

final class HTTPServerTests: XCTestCase {
    private var runner: LoopRunner!
    private var server: HTTPServer!

    override func tearDown() {
        runner?.finish()
        if let server { XCTAssertEqual(server.connectionCount, 0) }
        runner = nil
        server = nil
        super.tearDown()
    }

    /// Starts a server with `handler` on a fresh loop thread.
    private func startServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in },
                             handler: @escaping HTTPHandler) throws -> Int {
        runner = try LoopRunner()
        var configuration = HTTPServer.Configuration()
        configure(&configuration)
        server = HTTPServer(loop: runner.loop, configuration: configuration, handler: handler)
        try server.start()
        XCTAssertGreaterThan(server.boundPort, 0)
        runner.start()
        return server.boundPort
    }

    private static func echoHandler(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let text = "\(request.method) \(request.path) \(request.query ?? "-") \(request.body.count)"
        responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
    }

    func testGetWithKeepAliveAndSecondRequest() throws {
        let port = try startServer(handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("GET /v1/models?x=1 HTTP/1.1\r\nHost: test\r\n\r\n")
        let first = try client.readResponse()
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.bodyString, "GET /v1/models x=1 0")
        XCTAssertEqual(first.header("connection"), "keep-alive")
        XCTAssertEqual(first.header("content-length"), "\(first.body.count)")
        XCTAssertEqual(first.header("content-type"), "text/plain")

        try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
        let second = try client.readResponse()
        XCTAssertEqual(second.status, 200)
        XCTAssertEqual(second.bodyString, "POST /v1/chat/completions - 5")
    }

    func testPipelinedRequestsAnsweredInOrderEvenWhenAsynchronous() throws {
        let port = try startServer { request, responder in
            if request.path == "/slow" {
                // Answer later from a timer: the pipelined requests behind it must wait.
                let loop = self.runner.loop
                loop.scheduleTimer(after: 20) {
                    responder.respond(status: 200, headers: [], body: Array("slow".utf8))
                }
            } else {
                responder.respond(status: 200, headers: [], body: Array(request.path.utf8) + request.body)
            }
        }
        let client = try TestClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz" +
                        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nGET /d HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().bodyString, "slow")
        XCTAssertEqual(try client.readResponse().bodyString, "/bxyz")
        XCTAssertEqual(try client.readResponse().bodyString, "/cab")
        XCTAssertEqual(try client.readResponse().bodyString, "/d")
    }

    private func assertErrorResponse(_ response: TestResponse, _ status: Int,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status, status, file: file, line: line)
        XCTAssertEqual(response.header("connection"), "close", file: file, line: line)
        XCTAssertEqual(response.header("content-type"), "application/json", file: file, line: line)
        let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let error = json?["error"] as? [String: Any]
        XCTAssertEqual(error?["type"] as? String, "invalid_request_error", file: file, line: line)
        XCTAssertNotNil(error?["message"] as? String, file: file, line: line)
        XCTAssertTrue(error?["param"] is NSNull, file: file, line: line)
        XCTAssertTrue(error?["code"] is NSNull, file: file, line: line)
    }

    func testBodyTooLargeGets413AndClose() throws {
        let handled = Shared(0)
        let port = try startServer({ $0.maxBodyBytes = 1000 }) { request, responder in
            handled.mutate { $0 += 1 }
            Self.echoHandler(request, responder)
        }
        let client = try TestClient(port: port)
        try client.send("POST /v1/completions HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
        assertErrorResponse(try client.readResponse(), 413)
        XCTAssertTrue(try client.isClosedByPeer())

        let chunked = try TestClient(port: port)
        try chunked.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<3 { try chunked.send("1f4\r\n" + String(repeating: "y", count: 500) + "\r\n") }
        assertErrorResponse(try chunked.readResponse(), 413)
        XCTAssertTrue(try chunked.isClosedByPeer())
        XCTAssertEqual(handled.value, 0)
    }

    func testOversizedHeadersGet431() throws {
        let port = try startServer(handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "h", count: 20_000) + "\r\n\r\n")
        assertErrorResponse(try client.readResponse(), 431)
        XCTAssertTrue(try client.isClosedByPeer())
    }

    func testLongURIGets414MalformedGets400AndUnknownCodingGets501() throws {
        let port = try startServer(handler: Self.echoHandler)
        let long = try TestClient(port: port)
        try long.send("GET /" + String(repeating: "u", count: 9000) + " HTTP/1.1\r\n\r\n")
        assertErrorResponse(try long.readResponse(), 414)

        let garbage = try TestClient(port: port)
        try garbage.send("HELLO THERE\r\n\r\n")
        assertErrorResponse(try garbage.readResponse(), 400)

        let gzip = try TestClient(port: port)
        try gzip.send("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
        assertErrorResponse(try gzip.readResponse(), 501)

        // A good request after an error on the same connection is not processed: the connection closes.
        let after = try TestClient(port: port)
        try after.send("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        assertErrorResponse(try after.readResponse(), 400)
        XCTAssertTrue(try after.isClosedByPeer())
    }

    func testConnectionCloseAndHTTP10() throws {
        let port = try startServer(handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("GET /a HTTP/1.1\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.header("connection"), "close")
        XCTAssertEqual(response.bodyString, "GET /a - 0")
        XCTAssertTrue(try client.isClosedByPeer())

        let old = try TestClient(port: port)
        try old.send("GET /b HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try old.readResponse().header("connection"), "close")
        XCTAssertTrue(try old.isClosedByPeer())

        let oldKeepAlive = try TestClient(port: port)
        try oldKeepAlive.send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try oldKeepAlive.readResponse().header("connection"), "keep-alive")
        try oldKeepAlive.send("GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try oldKeepAlive.readResponse().bodyString, "GET /d - 0")
    }

    func testHeadResponseHasNoBody() throws {
        let port = try startServer(handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("HEAD /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n")
        let head = try client.readResponse(head: true)
        XCTAssertEqual(head.header("content-length"), "\("HEAD /x - 0".utf8.count)")
        XCTAssertEqual(try client.readResponse().bodyString, "GET /y - 0")
    }

    func testStreamedChunkedResponse() throws {
        let events = (0..<5).map { "data: {\"token\":\($0)}\n\n" }
        let port = try startServer { request, responder in
            responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream"),
                                                         ("Cache-Control", "no-cache")])
            var index = 0
            var timer: TimerHandle?
            timer = self.runner.loop.scheduleTimer(after: 1, repeat: 1) {
                if index < events.count {
                    responder.sendChunk(Array(events[index].utf8))
                    index += 1
                } else {
                    responder.sendChunk([])  // ignored
                    responder.endStream()
                    responder.sendChunk(Array("late".utf8))  // ignored: response finished
                    XCTAssertTrue(responder.isClosed)
                    timer?.cancel()
                }
            }
        }
        let client = try TestClient(port: port)
        try client.send("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("content-type"), "text/event-stream")
        XCTAssertEqual(response.header("transfer-encoding"), "chunked")
        XCTAssertNil(response.header("content-length"))
        XCTAssertEqual(response.chunks.map { String(decoding: $0, as: UTF8.self) }, events)
        XCTAssertEqual(response.bodyString, events.joined())
        // The connection stays usable after the stream.
        try client.send("POST /again HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(try client.readResponse().chunks.count, events.count)
    }

    /// Everything a handler writes to one socket in one loop iteration leaves in one write (one syscall, one
    /// segment with TCP_NODELAY): here the head, three SSE chunks and the last chunk.
    func testWritesOfOneIterationAreCoalesced() throws {
        let port = try startServer { _, responder in
            responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream")])
            for event in ["a", "b", "c"] { responder.sendChunk(Array("data: \(event)\n\n".utf8)) }
            responder.endStream()
        }
        let writes = Shared<[Int]>([])
        let loop = Shared(runner.loop)
        let client = try TestClient(port: port)
        runner.sync { writes.value.append(loop.value.writesIssued) }
        try client.send("GET /stream HTTP/1.1\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.chunks.map { String(decoding: $0, as: UTF8.self) }, ["data: a\n\n", "data: b\n\n", "data: c\n\n"])
        runner.sync { writes.value.append(loop.value.writesIssued) }
        XCTAssertEqual(writes.value.count, 2)
        XCTAssertEqual(writes.value.last.map { $0 - writes.value[0] }, 1)
    }

    func testHTTP10StreamIsCloseDelimited() throws {
        let port = try startServer { _, responder in
            responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream")])
            responder.sendChunk(Array("one ".utf8))
            responder.sendChunk(Array("two".utf8))
            responder.endStream()
        }
        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertNil(response.header("transfer-encoding"))
        XCTAssertEqual(response.header("connection"), "close")
        XCTAssertEqual(response.bodyString, "one two")
    }

    func testClientDisconnectMidStreamFiresOnCloseOnce() throws {
        let box = ResponderBox()
        let closed = DispatchSemaphore(value: 0)
        let port = try startServer { _, responder in
            box.responder = responder
            responder.onClose = {
                box.closeCount += 1
                closed.signal()
            }
            responder.startStream(status: 200, headers: [("Content-Type", "text/event-stream")])
            responder.sendChunk(Array("data: first\n\n".utf8))
        }
        let client = try TestClient(port: port)
        try client.send("GET /stream HTTP/1.1\r\n\r\n")
        let head = try client.readHead()
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(try client.readChunk().map { String(decoding: $0, as: UTF8.self) }, "data: first\n\n")
        client.close()
        waitFor(closed, "onClose")
        let state = Shared<(closed: Bool, count: Int)?>(nil)
        runner.sync {
            box.responder?.sendChunk(Array("data: after\n\n".utf8))
            box.responder?.endStream()
            state.value = (box.responder?.isClosed ?? false, box.closeCount)
        }
        XCTAssertEqual(state.value?.closed, true)
        XCTAssertEqual(state.value?.count, 1)
        let server = Shared(self.server!)
        let count = Shared(-1)
        // The connection is gone from the server once its close callback ran (before onClose fired).
        runner.sync { count.value = server.value.connectionCount }
        XCTAssertEqual(count.value, 0)
        runner.sync { box.responder = nil }
    }

    /// A handler's state usually holds its responder and is captured by `onClose` (the gateway's generation
    /// exchange does both); a finished response must drop `onClose`, or every completed request leaks.
    func testFinishedResponseReleasesOnClose() throws {
        final class HandlerState {}
        final class Watched: @unchecked Sendable {
            weak var streamed: HandlerState?
            weak var answered: HandlerState?
        }
        let box = ResponderBox()
        let watched = Watched()
        let released = Shared<(streamed: Bool, answered: Bool)?>(nil)
        let port = try startServer { request, responder in
            let state = HandlerState()
            box.responder = responder // kept alive, as the exchange keeps it
            responder.onClose = { _ = state }
            if request.path == "/stream" {
                watched.streamed = state
                responder.startStream(status: 200, headers: [])
                responder.sendChunk(Array("x".utf8))
                responder.endStream()
            } else {
                watched.answered = state
                responder.respond(status: 200, headers: [], body: Array("ok".utf8))
            }
        }
        let client = try TestClient(port: port)
        try client.send("GET /stream HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        try client.send("GET /plain HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        runner.sync { released.value = (watched.streamed == nil, watched.answered == nil) }
        XCTAssertEqual(released.value?.streamed, true, "a finished stream still holds its onClose")
        XCTAssertEqual(released.value?.answered, true, "a finished response still holds its onClose")
        runner.sync { box.responder = nil }
    }

    func testSlowReaderIsClosedAtBackpressureLimit() throws {
        let box = ResponderBox()
        let closed = DispatchSemaphore(value: 0)
        let port = try startServer({ $0.maxPendingWriteBytes = 256 * 1024 }) { _, responder in
            responder.onClose = {
                box.closeCount += 1
                closed.signal()
            }
            responder.startStream(status: 200, headers: [])
            let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
            var timer: TimerHandle?
            var sent = 0
            timer = self.runner.loop.scheduleTimer(after: 0, repeat: 1) {
                // Bounded: 4096 × 64 KiB = 256 MiB, far beyond any socket buffer.
                if responder.isClosed || sent >= 4096 {
                    timer?.cancel()
                    return
                }
                for _ in 0..<8 { responder.sendChunk(chunk) }
                sent += 8
            }
        }
        let client = try TestClient(port: port, receiveBufferSize: 4096)
        try client.send("GET /big HTTP/1.1\r\n\r\n")
        waitFor(closed, seconds: 20, "backpressure close")
        runner.sync { XCTAssertEqual(box.closeCount, 1) }
    }

    func testLargeResponseBodyIsNotLimitedByBackpressure() throws {
        let big = (0..<(6 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let port = try startServer({ $0.maxPendingWriteBytes = 64 * 1024 }) { _, responder in
            responder.respond(status: 200, headers: [], body: big)
        }
        let client = try TestClient(port: port)
        try client.send("GET /big HTTP/1.1\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.body.count, big.count)
        XCTAssertTrue(response.body == big)
    }

    func testIdleConnectionIsClosed() throws {
        let port = try startServer({
            $0.idleTimeoutMs = 30
            $0.headerReadTimeoutMs = 30
        }, handler: Self.echoHandler)
        let fresh = try TestClient(port: port)
        XCTAssertTrue(try fresh.isClosedByPeer())  // nothing sent: closed silently

        let used = try TestClient(port: port)
        try used.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try used.readResponse().status, 200)
        XCTAssertTrue(try used.isClosedByPeer())
    }

    func testSlowHeadersGet408() throws {
        let port = try startServer({ $0.headerReadTimeoutMs = 50 }, handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: slow\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertEqual(response.header("connection"), "close")
        XCTAssertTrue(try client.isClosedByPeer())
    }

    func testExpectContinue() throws {
        let port = try startServer(handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        let interim = try client.readHead()
        XCTAssertEqual(interim.status, 100)
        try client.send("abcd")
        XCTAssertEqual(try client.readResponse().bodyString, "POST /up - 4")
    }

    func testConnectionsBeyondLimitGet503() throws {
        let port = try startServer({ $0.maxConnections = 1 }, handler: Self.echoHandler)
        let first = try TestClient(port: port)
        try first.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try first.readResponse().status, 200)  // `first` is now surely accepted

        let second = try TestClient(port: port)
        let rejected = try second.readResponse()
        XCTAssertEqual(rejected.status, 503)
        XCTAssertEqual(rejected.header("connection"), "close")
        XCTAssertTrue(rejected.bodyString.contains("\"type\":\"server_error\""))
        XCTAssertTrue(try second.isClosedByPeer())

        first.close()
        second.close()
        // Once the server has seen both EOFs a new connection is served again. Until then a new connection gets
        // a 503, or (while the rejected one still lingers, beyond twice the limit) is closed without a response.
        var served = false
        for _ in 0..<500 where !served {
            let third = try TestClient(port: port)
            try? third.send("GET / HTTP/1.1\r\n\r\n")
            served = (try? third.readResponse().status) == 200
        }
        XCTAssertTrue(served)
    }

    func testLoopShutdownMidStreamFiresOnClose() throws {
        let box = ResponderBox()
        let started = DispatchSemaphore(value: 0)
        let port = try startServer { _, responder in
            box.responder = responder
            responder.onClose = { box.closeCount += 1 }
            responder.startStream(status: 200, headers: [])
            responder.sendChunk([1, 2, 3])
            started.signal()
        }
        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.1\r\n\r\n")
        waitFor(started, "handler")
        runner.finish()
        XCTAssertEqual(box.closeCount, 1)
        XCTAssertEqual(box.responder?.isClosed, true)
        box.responder = nil
    }

    func testServerCloseStopsListening() throws {
        let port = try startServer(handler: Self.echoHandler)
        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        let server = Shared(self.server!)
        runner.sync { server.value.close() }
        XCTAssertTrue(try client.isClosedByPeer())
        XCTAssertThrowsError(try TestClient(port: port))
    }

    func testIPv6Loopback() throws {
        runner = try LoopRunner()
        server = HTTPServer(loop: runner.loop, configuration: .init(host: "::1", port: 0), handler: Self.echoHandler)
        do {
            try server.start()
        } catch {
            throw XCTSkip("IPv6 loopback unavailable: \(error)")
        }
        runner.start()
        let client = try TestClient(port: server.boundPort, host: "::1")
        try client.send("GET /six HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().bodyString, "GET /six - 0")
    }

    func testInvalidHostAndPortInUse() throws {
        runner = try LoopRunner()
        let bad = HTTPServer(loop: runner.loop, configuration: .init(host: "localhost"), handler: Self.echoHandler)
        XCTAssertThrowsError(try bad.start()) { XCTAssertEqual($0 as? LoopIOError, .invalidAddress("localhost")) }
        server = HTTPServer(loop: runner.loop, handler: Self.echoHandler)
        try server.start()
        let clash = HTTPServer(loop: runner.loop, configuration: .init(port: server.boundPort), handler: Self.echoHandler)
        XCTAssertThrowsError(try clash.start()) { XCTAssertEqual(($0 as? LoopIOError)?.uvErrorName, "EADDRINUSE") }
        runner.start()
    }
}
