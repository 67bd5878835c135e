import XCTest
@testable import Gateway

final class HTTPRequestParserTests: XCTestCase {
    private func parseAll(_ chunks: [[UInt8]], limits: HTTPParserLimits = HTTPParserLimits()) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser(limits: limits)
        var requests: [HTTPRequest] = []
        for chunk in chunks {
            parser.append(chunk)
            while let request = try parser.nextRequest() { requests.append(request) }
        }
        return requests
    }

    private func parseError(_ text: String, limits: HTTPParserLimits = HTTPParserLimits(),
                            file: StaticString = #filePath, line: UInt = #line) -> HTTPParseError? {
        var parser = HTTPRequestParser(limits: limits)
        parser.append(Array(text.utf8))
        do {
            while try parser.nextRequest() != nil {}
            return nil
        } catch {
            return error
        }
    }

    private func assertStatus(_ text: String, _ status: Int, limits: HTTPParserLimits = HTTPParserLimits(),
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(parseError(text, limits: limits)?.status, status, text.debugDescription, file: file, line: line)
    }

    func testSimpleGet() throws {
        let text = "GET /v1/models?limit=2&x=y HTTP/1.1\r\nHost: localhost\r\nX-Custom:  value with spaces \t\r\n" +
            "x-custom: second\r\n\r\n"
        let requests = try parseAll([Array(text.utf8)])
        XCTAssertEqual(requests.count, 1)
        let request = requests[0]
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.target, "/v1/models?limit=2&x=y")
        XCTAssertEqual(request.path, "/v1/models")
        XCTAssertEqual(request.query, "limit=2&x=y")
        XCTAssertEqual(request.version, .http1_1)
        XCTAssertEqual(request.headers["HOST"], "localhost")
        XCTAssertEqual(request.headers["x-CUSTOM"], "value with spaces")
        XCTAssertEqual(request.headers.values(for: "X-Custom"), ["value with spaces", "second"])
        XCTAssertTrue(request.body.isEmpty)
        XCTAssertTrue(request.keepAlive)
    }

    func testAbsoluteFormTarget() throws {
        let requests = try parseAll([Array("GET http://example.com:8080/a/b?c HTTP/1.1\r\n\r\n".utf8)])
        XCTAssertEqual(requests.first?.path, "/a/b")
        XCTAssertEqual(requests.first?.query, "c")
    }

    private static let pipelined: String =
        "\r\nGET /first HTTP/1.1\r\nHost: a\r\n\r\n" +
        "POST /second HTTP/1.1\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world" +
        "POST /third HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nhello\r\n1 \r\n,\r\nB\r\n 0123456789\r\n0\r\nTrailer-Field: x\r\n\r\n" +
        "GET /fourth HTTP/1.0\nConnection: keep-alive\n\n"

    private func checkPipelined(_ requests: [HTTPRequest], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(requests.map(\.path), ["/first", "/second", "/third", "/fourth"], file: file, line: line)
        guard requests.count == 4 else { return }
        XCTAssertEqual(requests[1].method, "POST", file: file, line: line)
        XCTAssertEqual(String(decoding: requests[1].body, as: UTF8.self), "hello world", file: file, line: line)
        XCTAssertEqual(String(decoding: requests[2].body, as: UTF8.self), "hello, 0123456789", file: file, line: line)
        XCTAssertEqual(requests[3].version, .http1_0, file: file, line: line)
        XCTAssertTrue(requests[3].keepAlive, file: file, line: line)
    }

    func testPipelinedInOneBuffer() throws {
        checkPipelined(try parseAll([Array(Self.pipelined.utf8)]))
    }

    func testSplitAtEveryOffset() throws {
        let bytes = Array(Self.pipelined.utf8)
        for split in 0...bytes.count {
            let requests = try parseAll([Array(bytes[0..<split]), Array(bytes[split...])])
            checkPipelined(requests)
            if requests.count != 4 { XCTFail("split at \(split)"); return }
        }
    }

    func testSplitAtEveryPairOfOffsets() throws {
        let bytes = Array(Self.pipelined.utf8)
        for a in stride(from: 0, through: bytes.count, by: 7) {
            for b in a...bytes.count {
                let requests = try parseAll([Array(bytes[0..<a]), Array(bytes[a..<b]), Array(bytes[b...])])
                if requests.count != 4 { XCTFail("split at \(a), \(b)"); return }
            }
        }
    }

    func testByteAtATime() throws {
        checkPipelined(try parseAll(Self.pipelined.utf8.map { [$0] }))
    }

    func testNeedsMoreDataThenCompletes() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab".utf8))
        XCTAssertNil(try parser.nextRequest())
        XCTAssertEqual(parser.phase, .body)
        parser.append(Array("cd".utf8))
        XCTAssertEqual(try parser.nextRequest()?.body, Array("abcd".utf8))
        XCTAssertEqual(parser.phase, .idle)
        XCTAssertNil(try parser.nextRequest())
    }

    func testKeepAliveSemantics() throws {
        func keepAlive(_ text: String) throws -> Bool { try parseAll([Array(text.utf8)])[0].keepAlive }
        XCTAssertTrue(try keepAlive("GET / HTTP/1.1\r\n\r\n"))
        XCTAssertFalse(try keepAlive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"))
        XCTAssertFalse(try keepAlive("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n"))
        XCTAssertFalse(try keepAlive("GET / HTTP/1.0\r\n\r\n"))
        XCTAssertTrue(try keepAlive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
    }

    func testExpectContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        XCTAssertNil(try parser.nextRequest())
        XCTAssertTrue(parser.takeContinueRequest())
        XCTAssertFalse(parser.takeContinueRequest())
        parser.append(Array("abc".utf8))
        XCTAssertEqual(try parser.nextRequest()?.body, Array("abc".utf8))
        XCTAssertFalse(parser.takeContinueRequest())
    }

    func testLimits() {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 100
        limits.maxHeaderBytes = 200
        limits.maxBodyBytes = 50
        limits.maxHeaderCount = 5
        let longTarget = "/" + String(repeating: "a", count: 200)
        assertStatus("GET \(longTarget) HTTP/1.1\r\n\r\n", 414, limits: limits)
        assertStatus("GET \(longTarget)", 414, limits: limits)  // detected before the line ends
        assertStatus("GET / HTTP/1.1\r\nX: \(String(repeating: "b", count: 300))\r\n\r\n", 431, limits: limits)
        assertStatus("GET / HTTP/1.1\r\nX: \(String(repeating: "b", count: 300))", 431, limits: limits)
        let many = (0..<40).map { "H\($0): v\r\n" }.joined()
        assertStatus("GET / HTTP/1.1\r\n\(many)\r\n", 431, limits: limits)
        assertStatus("GET / HTTP/1.1\r\n" + (0..<6).map { "A\($0): 1\r\n" }.joined() + "\r\n", 431, limits: limits)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: 51\r\n\r\n", 413, limits: limits)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413, limits: limits)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n\(String(repeating: "x", count: 32))\r\n" +
                     "20\r\n", 413, limits: limits)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 413, limits: limits)
        // Exactly at the limits is fine.
        XCTAssertNil(parseError("POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n" + String(repeating: "z", count: 50),
                                limits: limits))
    }

    func testMalformed() {
        assertStatus("GARBAGE\r\n\r\n", 400)
        assertStatus("GET /\r\n\r\n", 400)
        assertStatus("GET  / HTTP/1.1\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1 extra\r\n\r\n", 400)
        assertStatus("GET / HTTX/1.1\r\n\r\n", 400)
        assertStatus("GET / HTTP/11\r\n\r\n", 400)
        assertStatus("G(T / HTTP/1.1\r\n\r\n", 400)
        assertStatus("GET /a\u{7F}b HTTP/1.1\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1\r\nName : x\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1\r\n: x\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400)
        assertStatus("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n", 400)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501)
        assertStatus("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501)
        assertStatus("GET / HTTP/2.0\r\n\r\n", 505)
        // Identical repeated Content-Length values are accepted.
        XCTAssertNil(parseError("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nab"))
    }

    func testStaysFailedAfterError() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n".utf8))
        XCTAssertThrowsError(try parser.nextRequest())
        parser.append(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        XCTAssertThrowsError(try parser.nextRequest()) { error in
            XCTAssertEqual((error as? HTTPParseError)?.status, 400)
        }
    }

    func testErrorResponseFormat() {
        let bytes = HTTPResponseEncoding.errorResponse(status: 413, message: "Too \"big\"\n")
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 413 Content Too Large\r\n"))
        XCTAssertTrue(text.contains("\r\nConnection: close\r\n"))
        XCTAssertTrue(text.contains("\r\nContent-Type: application/json\r\n"))
        let body = #"{"error":{"message":"Too \"big\"\n","type":"invalid_request_error","param":null,"code":null}}"#
        XCTAssertTrue(text.hasSuffix("\r\n\r\n" + body), text)
        XCTAssertTrue(text.contains("Content-Length: \(body.utf8.count)\r\n"))
    }

    func testResponseHeadDropsReservedAndUnsafeHeaders() {
        let head = HTTPResponseEncoding.head(status: 200, headers: [
            ("Content-Type", "text/plain"), ("content-length", "999"), ("Connection", "upgrade"),
            ("X-Evil", "a\r\nInjected: yes"), ("Bad Name", "x"),
        ], framing: .contentLength(5), keepAlive: true)
        XCTAssertEqual(String(decoding: head, as: UTF8.self),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n")
    }
}
