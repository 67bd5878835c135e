/// Size limits applied while parsing requests.
struct HTTPParserLimits: Sendable {
    /// Longest request line (method, target, version), CRLF excluded; beyond it → 414.
    var maxRequestLineBytes = 8 * 1024
    /// Largest header section (field lines incl. CRLFs, and chunked trailers); beyond it → 431.
    var maxHeaderBytes = 16 * 1024
    /// Most header fields; beyond it → 431.
    var maxHeaderCount = 256
    /// Largest body (declared Content-Length or de-chunked total); beyond it → 413.
    var maxBodyBytes = 1024 * 1024
}

/// Why a request could not be parsed, with the HTTP status the server answers before closing the connection.
struct HTTPParseError: Error, Equatable, Sendable {
    var status: Int
    var message: String

    static func badRequest(_ message: String) -> HTTPParseError { HTTPParseError(status: 400, message: message) }
}

/// Incremental HTTP/1.1 request parser (pure Swift, no I/O).
///
/// It exists so that the request grammar, size limits and body framing can be tested byte by byte without sockets.
/// Feed bytes with `append`, then call `nextRequest()` until it returns nil (needs more bytes). Pipelined requests
/// come out one per call, in order. After an error the parser stays failed (the connection must be closed).
///
/// Accepted: leading empty lines before a request line, LF or CRLF line ends, `Content-Length` (repeated only with
/// identical values), `Transfer-Encoding: chunked` (extensions and trailers are skipped). Rejected with 400: bare CR,
/// obsolete line folding, whitespace before a colon, both Content-Length and Transfer-Encoding, bad chunk syntax.
/// Other transfer codings → 501; versions other than HTTP/1.x → 505. The Host header is not enforced.
struct HTTPRequestParser {
    /// Where the parser is inside the current request (drives the server's timeouts).
    enum Phase { case idle, head, body }

    let limits: HTTPParserLimits

    private var buffer: [UInt8] = []
    private var readIndex = 0  // first unconsumed byte
    private var scanIndex = 0  // where the search for the next LF resumes

    private enum State {
        case requestLine, headers, body(remaining: Int), chunkSize, chunkData(remaining: Int), chunkDataEnd, trailers
        case failed(HTTPParseError)
    }
    private var state = State.requestLine
    private var method = ""
    private var target = ""
    private var version = HTTPVersion.http1_1
    private var headers: [(String, String)] = []
    private var headerBytes = 0
    private var body: [UInt8] = []
    private enum ContinueState { case none, pending, taken }
    private var continueState = ContinueState.none

    init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Bytes received but not yet consumed by `nextRequest()`.
    var bufferedByteCount: Int { buffer.count - readIndex }

    var phase: Phase {
        switch state {
        case .requestLine: return bufferedByteCount == 0 ? .idle : .head
        case .headers, .failed: return .head
        case .body, .chunkSize, .chunkData, .chunkDataEnd, .trailers: return .body
        }
    }

    mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if case .failed = state { return }
        buffer.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = state { return }
        buffer.append(contentsOf: bytes)
    }

    /// True once per request whose headers asked for `Expect: 100-continue` (HTTP/1.1, body expected, none of it
    /// received yet): the server should then send `100 Continue`.
    mutating func takeContinueRequest() -> Bool {
        guard continueState == .pending, body.isEmpty, bufferedByteCount == 0 else { return false }
        switch state {
        case .body, .chunkSize:
            continueState = .taken
            return true
        default:
            return false
        }
    }

    /// The next complete request, or nil if more bytes are needed.
    mutating func nextRequest() throws(HTTPParseError) -> HTTPRequest? {
        if case .failed(let error) = state { throw error }
        do {
            let request = try step()
            compact()
            return request
        } catch {
            state = .failed(error)
            buffer = []
            readIndex = 0
            scanIndex = 0
            throw error
        }
    }

    // MARK: - State machine

    private mutating func step() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .requestLine:
                switch readLine(limit: limits.maxRequestLineBytes) {
                case .incomplete: return nil
                case .tooLong: throw HTTPParseError(status: 414, message: "Request line is too long.")
                case .line(let range):
                    if range.isEmpty { continue }  // RFC 9112 §2.2: ignore empty lines before a request line
                    try parseRequestLine(range)
                    headerBytes = 0
                    state = .headers
                }
            case .headers:
                switch readLine(limit: limits.maxHeaderBytes - headerBytes) {
                case .incomplete: return nil
                case .tooLong: throw HTTPParseError(status: 431, message: "Request header fields are too large.")
                case .line(let range):
                    if range.isEmpty {
                        if try !beginBody() { return finish() }
                        continue
                    }
                    headerBytes += range.count + 2
                    if headerBytes > limits.maxHeaderBytes || headers.count >= limits.maxHeaderCount {
                        throw HTTPParseError(status: 431, message: "Request header fields are too large.")
                    }
                    try parseHeaderLine(range)
                }
            case .body(let remaining):
                let taken = consumeBody(upTo: remaining)
                if taken == remaining { return finish() }
                state = .body(remaining: remaining - taken)
                return nil
            case .chunkSize:
                switch readLine(limit: 4096) {
                case .incomplete: return nil
                case .tooLong: throw HTTPParseError.badRequest("Chunk size line is too long.")
                case .line(let range):
                    let size = try parseChunkSize(range)
                    if size == 0 {
                        state = .trailers
                    } else {
                        if size > limits.maxBodyBytes - body.count { throw Self.bodyTooLarge(limits) }
                        state = .chunkData(remaining: size)
                    }
                }
            case .chunkData(let remaining):
                let taken = consumeBody(upTo: remaining)
                if taken < remaining {
                    state = .chunkData(remaining: remaining - taken)
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                switch readLine(limit: 0) {
                case .incomplete: return nil
                case .tooLong: throw HTTPParseError.badRequest("Chunk data is not followed by CRLF.")
                case .line(let range):
                    if !range.isEmpty { throw HTTPParseError.badRequest("Chunk data is not followed by CRLF.") }
                    state = .chunkSize
                }
            case .trailers:
                switch readLine(limit: limits.maxHeaderBytes - headerBytes) {
                case .incomplete: return nil
                case .tooLong: throw HTTPParseError(status: 431, message: "Request header fields are too large.")
                case .line(let range):
                    if range.isEmpty { return finish() }
                    headerBytes += range.count + 2
                    if headerBytes > limits.maxHeaderBytes {
                        throw HTTPParseError(status: 431, message: "Request header fields are too large.")
                    }
                    if !buffer[range].contains(UInt8(ascii: ":")) || buffer[range].contains(13) {
                        throw HTTPParseError.badRequest("Malformed trailer field.")
                    }
                }
            }
        }
    }

    private static func bodyTooLarge(_ limits: HTTPParserLimits) -> HTTPParseError {
        HTTPParseError(status: 413, message: "Request body is larger than \(limits.maxBodyBytes) bytes.")
    }

    private mutating func consumeBody(upTo remaining: Int) -> Int {
        let count = min(remaining, buffer.count - readIndex)
        if count > 0 {
            body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
            readIndex += count
            scanIndex = readIndex
        }
        return count
    }

    private mutating func finish() -> HTTPRequest {
        let request = HTTPRequest(method: method, target: target, version: version,
                                  headers: HTTPHeaders(headers), body: body)
        state = .requestLine
        headers = []
        body = []
        headerBytes = 0
        continueState = .none
        return request
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 256 * 1024)
            readIndex = 0
            scanIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }

    // MARK: - Lines

    private enum Line { case line(Range<Int>), incomplete, tooLong }

    /// Consumes one line ending in LF (a preceding CR is dropped) whose content is at most `limit` bytes.
    private mutating func readLine(limit: Int) -> Line {
        if let lf = buffer[scanIndex...].firstIndex(of: 10) {
            var end = lf
            if end > readIndex && buffer[end - 1] == 13 { end -= 1 }
            if end - readIndex > limit { return .tooLong }
            let range = readIndex..<end
            readIndex = lf + 1
            scanIndex = readIndex
            return .line(range)
        }
        scanIndex = buffer.count
        return buffer.count - readIndex > limit + 1 ? .tooLong : .incomplete
    }

    // MARK: - Grammar

    private static let tcharTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(c)] = true }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(c)] = true }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(c)] = true }
        for c in "!#$%&'*+-.^_`|~".utf8 { table[Int(c)] = true }
        return table
    }()

    static func isTokenChar(_ byte: UInt8) -> Bool { tcharTable[Int(byte)] }

    private mutating func parseRequestLine(_ range: Range<Int>) throws(HTTPParseError) {
        let line = buffer[range]
        guard let sp1 = line.firstIndex(of: 32) else { throw .badRequest("Malformed request line.") }
        guard let sp2 = line[(sp1 + 1)...].firstIndex(of: 32) else { throw .badRequest("Malformed request line.") }
        let methodBytes = line[range.lowerBound..<sp1]
        let targetBytes = line[(sp1 + 1)..<sp2]
        let versionBytes = line[(sp2 + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isTokenChar) else {
            throw .badRequest("Malformed request method.")
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("Malformed request target.")
        }
        let v = Array(versionBytes)
        guard v.count == 8, v[0..<5].elementsEqual("HTTP/".utf8), v[6] == UInt8(ascii: "."),
              (48...57).contains(v[5]), (48...57).contains(v[7]) else {
            throw .badRequest("Malformed HTTP version.")
        }
        let parsed = HTTPVersion(major: Int(v[5] - 48), minor: Int(v[7] - 48))
        guard parsed.major == 1 else {
            throw HTTPParseError(status: 505, message: "HTTP version \(parsed) is not supported.")
        }
        method = String(decoding: methodBytes, as: UTF8.self)
        target = String(decoding: targetBytes, as: UTF8.self)
        version = parsed
    }

    private mutating func parseHeaderLine(_ range: Range<Int>) throws(HTTPParseError) {
        let line = buffer[range]
        let first = line[range.lowerBound]
        if first == 32 || first == 9 { throw .badRequest("Obsolete header line folding is not accepted.") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("Malformed header field.") }
        let name = line[range.lowerBound..<colon]
        guard !name.isEmpty, name.allSatisfy(Self.isTokenChar) else { throw .badRequest("Malformed header name.") }
        var start = colon + 1, end = range.upperBound
        while start < end, buffer[start] == 32 || buffer[start] == 9 { start += 1 }
        while end > start, buffer[end - 1] == 32 || buffer[end - 1] == 9 { end -= 1 }
        let value = buffer[start..<end]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw .badRequest("Malformed header value.")
        }
        headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// Decides the body framing after the header section; returns false when there is no body.
    private mutating func beginBody() throws(HTTPParseError) -> Bool {
        let fields = HTTPHeaders(headers)
        let contentLengths = fields.values(for: "content-length")
        var hasBody: Bool
        if fields.contains("transfer-encoding") {
            if !contentLengths.isEmpty {
                throw .badRequest("Both Content-Length and Transfer-Encoding are present.")
            }
            let codings = fields.tokens(for: "transfer-encoding")
            if let unsupported = codings.first(where: { $0 != "chunked" }) {
                throw HTTPParseError(status: 501, message: "Transfer-Encoding '\(unsupported)' is not supported.")
            }
            guard codings.count == 1 else { throw .badRequest("Malformed Transfer-Encoding.") }
            state = .chunkSize
            hasBody = true
        } else if !contentLengths.isEmpty {
            var length: Int?
            for value in contentLengths {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let digits = part.trimmingHTTPWhitespace().utf8
                    guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                        throw .badRequest("Malformed Content-Length.")
                    }
                    var n = 0
                    for d in digits {
                        let (times, o1) = n.multipliedReportingOverflow(by: 10)
                        let (sum, o2) = times.addingReportingOverflow(Int(d - 48))
                        if o1 || o2 { n = Int.max; break }
                        n = sum
                    }
                    if let length, length != n { throw .badRequest("Conflicting Content-Length values.") }
                    length = n
                }
            }
            let n = length ?? 0
            if n > limits.maxBodyBytes { throw Self.bodyTooLarge(limits) }
            hasBody = n > 0
            if hasBody {
                body.reserveCapacity(n)
                state = .body(remaining: n)
            }
        } else {
            hasBody = false
        }
        if hasBody, version == .http1_1, let expect = fields["expect"], expect.lowercasedASCII() == "100-continue" {
            continueState = .pending
        }
        return hasBody
    }

    private func parseChunkSize(_ range: Range<Int>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var index = range.lowerBound
        while index < range.upperBound {
            let c = buffer[index]
            let value: Int
            switch c {
            case 48...57: value = Int(c - 48)
            case 97...102: value = Int(c - 87)
            case 65...70: value = Int(c - 55)
            default: value = -1
            }
            if value < 0 { break }
            digits += 1
            if digits > 15 { throw Self.bodyTooLarge(limits) }
            size = size * 16 + value
            index += 1
        }
        guard digits > 0 else { throw .badRequest("Malformed chunk size.") }
        while index < range.upperBound, buffer[index] == 32 || buffer[index] == 9 { index += 1 }
        if index < range.upperBound {
            guard buffer[index] == UInt8(ascii: ";"),
                  !buffer[index..<range.upperBound].contains(13) else {
                throw .badRequest("Malformed chunk size.")
            }
        }
        return size
    }
}
