import XCTest
@testable import ServingBenchmark

/// The HTTP response parser, the SSE parser and chunk interpretation, fed byte by byte as a socket might deliver
/// them; URL parsing and request bodies.
final class StreamParsingTests: XCTestCase {
    private let sseBody = """
        data: {"choices":[{"index":0,"text":"Once","finish_reason":null}]}\r\n\r\n\
        : a comment\n\
        data: {"choices":[{"index":0,"text":" upon","finish_reason":null}]}\n\n\
        data: {"choices":[{"index":0,"text":"","finish_reason":"length"}]}\r\r\
        data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}\n\n\
        data: [DONE]\n\n
        """

    /// `body` in chunked framing, split into chunks of `size` bytes, with a chunk extension and a trailer.
    private func chunked(_ body: String, size: Int) -> [UInt8] {
        let bytes = Array(body.utf8)
        var out: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        var offset = 0
        while offset < bytes.count {
            let piece = bytes[offset..<min(offset + size, bytes.count)]
            out += Array(String(piece.count, radix: 16).utf8) + Array(";ext=1\r\n".utf8) + piece + Array("\r\n".utf8)
            offset += size
        }
        return out + Array("0\r\nX-Trailer: yes\r\n\r\n".utf8)
    }

    /// Feeds `bytes` one at a time through both parsers; returns the head, the events' data and whether it ended.
    private func parseByteByByte(_ bytes: [UInt8]) throws -> (status: Int?, headers: [String: String], events: [String], ended: Bool) {
        var http = HTTPResponseParser(), sse = SSEParser()
        var status: Int?, headers: [String: String] = [:], events: [String] = [], ended = false
        for byte in bytes {
            try http.feed([byte]) { event in
                switch event {
                case .head(let code, let h): status = code; headers = h
                case .body(let body): events += try sse.feed(body)
                case .end: ended = true
                }
            }
        }
        return (status, headers, events, ended)
    }

    func testChunkedSSEByteByByte() throws {
        for size in [1, 7, 64, 4096] {
            let result = try parseByteByByte(chunked(sseBody, size: size))
            XCTAssertEqual(result.status, 200)
            XCTAssertEqual(result.headers["content-type"], "text/event-stream")
            XCTAssertTrue(result.ended)
            XCTAssertEqual(result.events.count, 5, "chunk size \(size)")
            XCTAssertEqual(result.events.last, "[DONE]")
            let chunks = result.events.map(StreamChunk.init(data:))
            XCTAssertEqual(chunks.map(\.carriesTokens), [true, true, true, false, false])
            XCTAssertEqual(chunks[2].finishReason, "length")
            XCTAssertEqual(chunks[3].completionTokens, 3)
            XCTAssertEqual(chunks[3].promptTokens, 4)
            XCTAssertTrue(chunks[4].isDone)
        }
    }

    func testContentLengthAndUntilCloseBodies() throws {
        let fixed = try parseByteByByte(Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nhelloEXTRA".utf8))
        XCTAssertEqual(fixed.status, 400)
        XCTAssertTrue(fixed.ended)

        var parser = HTTPResponseParser()
        var body: [UInt8] = [], ended = false
        try parser.feed(Array("HTTP/1.0 200 OK\r\n\r\ndata: x\n\n".utf8)) { event in
            if case .body(let b) = event { body += b }
            if case .end = event { ended = true }
        }
        XCTAssertFalse(ended)
        XCTAssertTrue(parser.closeAfterResponse)
        try parser.finishAtEndOfStream { if case .end = $0 { ended = true } }
        XCTAssertTrue(ended)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "data: x\n\n")
    }

    func testMalformedResponsesAreErrors() {
        var parser = HTTPResponseParser()
        XCTAssertThrowsError(try parser.feed(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) { _ in })
        var chunked = HTTPResponseParser()
        XCTAssertThrowsError(try chunked.feed(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)) { _ in })
        var truncated = HTTPResponseParser()
        XCTAssertNoThrow(try truncated.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)) { _ in })
        XCTAssertThrowsError(try truncated.finishAtEndOfStream { _ in })
    }

    func testSSEJoinsMultiLineDataAndIgnoresOtherFields() throws {
        var sse = SSEParser()
        var events: [String] = []
        for byte in Array("event: message\nid: 3\ndata:first\ndata: second\nretry: 10\n\n\n\ndata\n\n".utf8) { events += try sse.feed([byte]) }
        XCTAssertEqual(events, ["first\nsecond", ""])
    }

    func testChatAndErrorChunks() {
        let role = StreamChunk(data: #"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#)
        XCTAssertFalse(role.carriesTokens)
        let content = StreamChunk(data: #"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#)
        XCTAssertTrue(content.carriesTokens)
        let failure = StreamChunk(data: #"{"error":{"message":"worker died","type":"server_error"}}"#)
        XCTAssertEqual(failure.error, "server error: worker died")
        XCTAssertNotNil(StreamChunk(data: "not json").error)
    }

    func testServerURLParsing() throws {
        let plain = try ServerURL(parsing: "http://127.0.0.1:8000")
        XCTAssertEqual(plain, ServerURL(host: "127.0.0.1", port: 8000))
        XCTAssertEqual(plain.apiPath("completions"), "/v1/completions")
        XCTAssertEqual(plain.hostHeader, "127.0.0.1:8000")
        let withV1 = try ServerURL(parsing: "http://localhost:9000/v1/")
        XCTAssertEqual(withV1.apiPath("chat/completions"), "/v1/chat/completions")
        let prefixed = try ServerURL(parsing: "HTTP://[::1]/llm")
        XCTAssertEqual(prefixed.host, "::1")
        XCTAssertEqual(prefixed.port, 80)
        XCTAssertEqual(prefixed.apiPath("models"), "/llm/v1/models")
        XCTAssertEqual(prefixed.hostHeader, "[::1]")
        XCTAssertThrowsError(try ServerURL(parsing: "https://api.example.com")) { error in
            XCTAssertTrue("\(error)".contains("https is not supported"), "\(error)")
            XCTAssertTrue("\(error)".contains("proxy"), "\(error)")
        }
        XCTAssertThrowsError(try ServerURL(parsing: "127.0.0.1:8000"))
        XCTAssertThrowsError(try ServerURL(parsing: "http://127.0.0.1:99999"))
        XCTAssertThrowsError(try ServerURL(parsing: "http://:80"))
    }

    func testRequestBodies() throws {
        let completion = RequestTemplate(endpoint: .completions, model: "m", maxTokens: 8, temperature: 0, ignoreEOS: true)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(completion.body(prompt: "Hi \"there\""))) as? [String: Any])
        XCTAssertEqual(object["prompt"] as? String, "Hi \"there\"")
        XCTAssertEqual(object["model"] as? String, "m")
        XCTAssertEqual(object["max_tokens"] as? Int, 8)
        XCTAssertEqual(object["stream"] as? Bool, true)
        XCTAssertEqual(object["ignore_eos"] as? Bool, true)
        XCTAssertEqual((object["stream_options"] as? [String: Any])?["include_usage"] as? Bool, true)

        let chat = RequestTemplate(endpoint: .chat, model: nil, maxTokens: 4, ignoreEOS: false)
        let chatObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(chat.body(prompt: "Hello"))) as? [String: Any])
        XCTAssertNil(chatObject["model"])
        XCTAssertNil(chatObject["ignore_eos"])
        XCTAssertEqual((chatObject["messages"] as? [[String: Any]])?.first?["content"] as? String, "Hello")
    }
}
