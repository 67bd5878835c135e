/// An incremental HTTP/1.1 response parser: feed it bytes as they arrive (one at a time if need be) and it reports
/// the status and headers, then the body's bytes with the framing removed — `Content-Length`, chunked transfer
/// encoding (extensions and trailers skipped), or until the connection closes — then the end of the response.
/// Interim 1xx responses are skipped. Sizes are bounded so a broken server cannot exhaust memory.
public struct HTTPResponseParser: Sendable {
    /// What the parser found.
    public enum Event: Equatable, Sendable {
        /// The status line and headers (names lower-cased; repeated names joined with ", ").
        case head(status: Int, headers: [String: String])
        /// Body bytes, de-framed.
        case body([UInt8])
        /// The response is complete.
        case end
    }

    /// An error naming the malformed part.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    private enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    /// Largest status line plus headers, and largest chunk-size or trailer line.
    public static let maxHeadBytes = 64 * 1024

    private var state = State.head
    private var line: [UInt8] = []
    private var head: [UInt8] = []
    /// True after the response is complete.
    public private(set) var isComplete = false
    /// The status of the final (non-1xx) response once its head was read.
    public private(set) var status: Int?
    /// True when the server asked to close the connection after this response (or must, for an until-close body).
    public private(set) var closeAfterResponse = false
    /// Whether the request was HEAD (no body follows whatever the headers say).
    private let isHeadRequest: Bool

    public init(isHeadRequest: Bool = false) {
        self.isHeadRequest = isHeadRequest
    }

    /// Consumes `bytes`, calling `emit` for everything they complete. Bytes after the end of the response are
    /// ignored (a client sends one request at a time).
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes, _ emit: (Event) throws -> Void) throws where Bytes.Element == UInt8 {
        var i = bytes.startIndex
        while i != bytes.endIndex {
            switch state {
            case .done:
                return
            case .head:
                head.append(bytes[i])
                i = bytes.index(after: i)
                if head.count > Self.maxHeadBytes { throw ParseError(description: "response head larger than \(Self.maxHeadBytes) bytes") }
                if head.count >= 4, head[head.count - 4] == 13, head[head.count - 3] == 10, head[head.count - 2] == 13, head[head.count - 1] == 10 {
                    try finishHead(emit)
                }
            case .fixedBody(let remaining):
                let available = bytes.distance(from: i, to: bytes.endIndex)
                let take = min(available, remaining)
                let end = bytes.index(i, offsetBy: take)
                try emit(.body(Array(bytes[i..<end])))
                i = end
                if remaining - take == 0 { try finish(emit) } else { state = .fixedBody(remaining: remaining - take) }
            case .untilClose:
                try emit(.body(Array(bytes[i...])))
                i = bytes.endIndex
            case .chunkSize, .chunkDataEnd, .trailers:
                let byte = bytes[i]
                i = bytes.index(after: i)
                guard byte == 10 else {
                    line.append(byte)
                    if line.count > Self.maxHeadBytes { throw ParseError(description: "chunk framing line too long") }
                    continue
                }
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                try endOfLine(text, emit)
            case .chunkData(let remaining):
                let available = bytes.distance(from: i, to: bytes.endIndex)
                let take = min(available, remaining)
                let end = bytes.index(i, offsetBy: take)
                try emit(.body(Array(bytes[i..<end])))
                i = end
                state = remaining - take == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            }
        }
    }

    /// Tells the parser the connection closed: completes an until-close body, otherwise a truncated response is
    /// an error.
    public mutating func finishAtEndOfStream(_ emit: (Event) throws -> Void) throws {
        switch state {
        case .done: return
        case .untilClose: try finish(emit)
        case .head: throw ParseError(description: head.isEmpty ? "connection closed before a response" : "connection closed inside the response head")
        default: throw ParseError(description: "connection closed inside the response body")
        }
    }

    private mutating func endOfLine(_ text: String, _ emit: (Event) throws -> Void) throws {
        switch state {
        case .chunkSize:
            let sizeText = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = sizeText.trimmed(of: " \t")
            guard !trimmed.isEmpty, trimmed.count <= 15, let size = Int(trimmed, radix: 16), size >= 0 else {
                throw ParseError(description: "bad chunk size line '\(text.prefix(40))'")
            }
            state = size == 0 ? .trailers : .chunkData(remaining: size)
        case .chunkDataEnd:
            guard text.isEmpty else { throw ParseError(description: "chunk data not followed by CRLF") }
            state = .chunkSize
        case .trailers:
            if text.isEmpty { try finish(emit) }
        default:
            break
        }
    }

    private mutating func finishHead(_ emit: (Event) throws -> Void) throws {
        var lines = head.dropLast(4).split(separator: 10, omittingEmptySubsequences: false).map { bytes in
            String(decoding: bytes.last == 13 ? bytes.dropLast() : bytes, as: UTF8.self)
        }
        head.removeAll()
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]), (100...599).contains(code) else {
            throw ParseError(description: "bad status line '\(statusLine.prefix(60))'")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw ParseError(description: "bad header line '\(line.prefix(60))'") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmed(of: " \t")
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        if (100...199).contains(code) { return }  // Interim response: the real one follows.
        status = code
        let connection = headers["connection"]?.lowercased() ?? ""
        closeAfterResponse = connection.contains("close") || (parts[0] == "HTTP/1.0" && !connection.contains("keep-alive"))
        try emit(.head(status: code, headers: headers))

        if isHeadRequest || code == 204 || code == 304 {
            try finish(emit)
        } else if let coding = headers["transfer-encoding"]?.lowercased() {
            guard coding.split(separator: ",").last?.trimmed(of: " \t") == "chunked" else {
                throw ParseError(description: "unsupported Transfer-Encoding '\(coding)'")
            }
            state = .chunkSize
        } else if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText.trimmed(of: " \t")), length >= 0 else {
                throw ParseError(description: "bad Content-Length '\(lengthText)'")
            }
            if length == 0 { try finish(emit) } else { state = .fixedBody(remaining: length) }
        } else {
            closeAfterResponse = true
            state = .untilClose
        }
    }

    private mutating func finish(_ emit: (Event) throws -> Void) throws {
        state = .done
        isComplete = true
        try emit(.end)
    }
}

extension StringProtocol {
    fileprivate func trimmed(of set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
