/// Serialises response heads, chunk framing and the server's own error bodies.
///
/// It exists so that the wire format of responses lives in one place, separate from connection state.
enum HTTPResponseEncoding {
    enum Framing {
        case contentLength(Int)
        case chunked
        /// HTTP/1.0 streaming: the body ends when the connection closes.
        case closeDelimited
        /// Statuses that never carry a body (1xx, 204, 304).
        case noBody
    }

    /// Header names the server manages itself; a handler's values for them are dropped.
    private static let reserved: Set<String> = ["content-length", "transfer-encoding", "connection"]

    static func statusHasNoBody(_ status: Int) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304
    }

    static func head(status: Int, headers: [(String, String)], framing: Framing, keepAlive: Bool) -> [UInt8] {
        var out = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPRequestParser.isTokenChar),
                  !value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }),
                  !reserved.contains(name.lowercasedASCII()) else { continue }
            out += "\(name): \(value)\r\n"
        }
        switch framing {
        case .contentLength(let length): out += "Content-Length: \(length)\r\n"
        case .chunked: out += "Transfer-Encoding: chunked\r\n"
        case .closeDelimited, .noBody: break
        }
        out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(out.utf8)
    }

    /// "<hex size>\r\n"
    static func chunkPrefix(_ count: Int) -> [UInt8] {
        Array((String(count, radix: 16) + "\r\n").utf8)
    }

    static let crlf: [UInt8] = [13, 10]
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// A complete error response with `Connection: close`.
    static func errorResponse(status: Int, message: String, type: String = "invalid_request_error") -> [UInt8] {
        let error = OpenAIError(status: status, message: message, type: type)
        return head(status: status, headers: error.headers, framing: .contentLength(error.body.count), keepAlive: false) + error.body
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}
