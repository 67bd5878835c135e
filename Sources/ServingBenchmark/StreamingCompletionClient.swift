import Foundation

/// A minimal blocking HTTP/1.1 client for one benchmark user: it POSTs a JSON body, reads the streamed response
/// incrementally (`HTTPResponseParser` → `SSEParser` → `StreamChunk`) and timestamps every read as its bytes
/// arrive, yielding a `RequestTiming`. It keeps its connection alive between requests, reconnecting once when
/// the server had closed an idle connection. Every request has a deadline covering connect, send and the whole
/// response. Not thread-safe: use one client per thread.
public final class StreamingCompletionClient {
    /// Where and how to connect.
    public struct Configuration: Sendable {
        public var url: ServerURL
        /// Sent as `Authorization: Bearer KEY`.
        public var apiKey: String?
        /// Seconds to establish a TCP connection.
        public var connectTimeout: Double
        /// Seconds a whole request may take (connect, send, stream) before it fails as timed out.
        public var requestTimeout: Double

        public init(url: ServerURL, apiKey: String? = nil, connectTimeout: Double = 10, requestTimeout: Double = 120) {
            self.url = url
            self.apiKey = apiKey
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
        }
    }

    /// A failure of a plain (non-streamed) request.
    public struct RequestError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Largest response body read (bytes).
    public static let maxResponseBytes = 256 * 1024 * 1024

    public let configuration: Configuration
    private var connection: BenchmarkHTTPClientConnection?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Drops the kept-alive connection.
    public func disconnect() { connection = nil }

    private func head(method: String, path: String, bodyLength: Int?) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(configuration.url.hostHeader)\r\nUser-Agent: scalellm-bench\r\n"
        if let key = configuration.apiKey { text += "Authorization: Bearer \(key)\r\n" }
        if let bodyLength {
            text += "Content-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: \(bodyLength)\r\n"
        }
        return text + "\r\n"
    }

    /// Sends one streamed request and records its timing; times are seconds since `origin` (a `MonotonicClock`
    /// time). Never throws: failures are recorded in the timing's `error`.
    public func stream(path: String, body: [UInt8], index: Int, origin: UInt64) -> RequestTiming {
        let request = Array(head(method: "POST", path: path, bodyLength: body.count).utf8) + body
        var sendTime = MonotonicClock.now()
        for attempt in 0..<2 {
            sendTime = MonotonicClock.now()
            let deadline = sendTime + UInt64(configuration.requestTimeout * 1e9)
            let reused = connection != nil
            var tokenTimes: [Double] = []
            var usage: (prompt: Int?, completion: Int?) = (nil, nil)
            do {
                let conn = try connection ?? BenchmarkHTTPClientConnection.open(
                    host: configuration.url.host, port: configuration.url.port, timeout: configuration.connectTimeout)
                connection = conn
                conn.setTimeouts(seconds: configuration.requestTimeout)
                try conn.sendAll(request, reused: reused)

                var parser = HTTPResponseParser()
                var sse = SSEParser()
                var status = 0
                var errorBody: [UInt8] = []
                var streamError: String?
                var ended = false, receivedAny = false
                var endTime = sendTime
                var totalBytes = 0
                while !ended {
                    let n: Int
                    do {
                        n = try conn.receive(into: &buffer, deadline: deadline)
                    } catch let failure as BenchmarkHTTPClientConnection.Failure {
                        throw BenchmarkHTTPClientConnection.Failure(description: failure.description,
                                                                    stale: failure.stale && reused && !receivedAny)
                    }
                    let now = MonotonicClock.now()
                    let t = MonotonicClock.seconds(from: origin, to: now)
                    func handle(_ event: HTTPResponseParser.Event) throws {
                        switch event {
                        case .head(let code, _):
                            status = code
                        case .body(let bytes):
                            guard status == 200 else {
                                if errorBody.count < 64 * 1024 { errorBody += bytes.prefix(64 * 1024 - errorBody.count) }
                                return
                            }
                            for data in try sse.feed(bytes) {
                                let chunk = StreamChunk(data: data)
                                if chunk.carriesTokens { tokenTimes.append(t) }
                                if let p = chunk.promptTokens { usage.prompt = p }
                                if let c = chunk.completionTokens { usage.completion = c }
                                if let e = chunk.error, streamError == nil { streamError = e }
                            }
                        case .end:
                            ended = true
                            endTime = now
                        }
                    }
                    if n == 0 {
                        if !receivedAny && reused {
                            throw BenchmarkHTTPClientConnection.Failure(description: "connection closed", stale: true)
                        }
                        try parser.finishAtEndOfStream(handle)
                        if !ended {
                            throw BenchmarkHTTPClientConnection.Failure(description: "connection closed before the response ended")
                        }
                        break
                    }
                    receivedAny = true
                    totalBytes += n
                    guard totalBytes <= Self.maxResponseBytes else {
                        throw BenchmarkHTTPClientConnection.Failure(description: "response larger than \(Self.maxResponseBytes) bytes")
                    }
                    try parser.feed(buffer[0..<n], handle)
                }
                if parser.closeAfterResponse { connection = nil }
                var error = streamError
                if status != 200 {
                    error = "HTTP \(status): \(Self.errorMessage(errorBody))"
                } else if error == nil && tokenTimes.isEmpty {
                    error = "the response streamed no tokens (does the server support stream: true?)"
                }
                if error != nil { connection = nil }
                return RequestTiming(index: index, sendTime: MonotonicClock.seconds(from: origin, to: sendTime), tokenChunkTimes: tokenTimes,
                                     endTime: MonotonicClock.seconds(from: origin, to: endTime), promptTokens: usage.prompt,
                                     completionTokens: usage.completion, error: error)
            } catch {
                connection = nil
                if attempt == 0, let failure = error as? BenchmarkHTTPClientConnection.Failure, failure.stale { continue }
                let now = MonotonicClock.now()
                var message = "\(error)"
                if let failure = error as? BenchmarkHTTPClientConnection.Failure, failure.description == "timed out" {
                    message = "timed out after \(configuration.requestTimeout) s"
                }
                return RequestTiming(index: index, sendTime: MonotonicClock.seconds(from: origin, to: sendTime), tokenChunkTimes: tokenTimes,
                                     endTime: MonotonicClock.seconds(from: origin, to: now), promptTokens: usage.prompt,
                                     completionTokens: usage.completion, error: message)
            }
        }
        return RequestTiming(index: index, sendTime: MonotonicClock.seconds(from: origin, to: sendTime), tokenChunkTimes: [],
                             endTime: MonotonicClock.seconds(from: origin, to: MonotonicClock.now()), error: "connection lost twice")
    }

    /// A plain GET (e.g. `/v1/models`); returns the status and body.
    public func get(path: String) throws -> (status: Int, body: [UInt8]) {
        connection = nil
        let deadline = MonotonicClock.now() + UInt64(configuration.requestTimeout * 1e9)
        do {
            let conn = try BenchmarkHTTPClientConnection.open(host: configuration.url.host, port: configuration.url.port,
                                                              timeout: configuration.connectTimeout)
            conn.setTimeouts(seconds: configuration.requestTimeout)
            try conn.sendAll(Array(head(method: "GET", path: path, bodyLength: nil).utf8), reused: false)
            var parser = HTTPResponseParser()
            var status = 0, body: [UInt8] = [], ended = false
            func handle(_ event: HTTPResponseParser.Event) throws {
                switch event {
                case .head(let code, _): status = code
                case .body(let bytes):
                    body += bytes
                    if body.count > Self.maxResponseBytes { throw RequestError(description: "response too large") }
                case .end: ended = true
                }
            }
            while !ended {
                let n = try conn.receive(into: &buffer, deadline: deadline)
                if n == 0 { try parser.finishAtEndOfStream(handle); break }
                try parser.feed(buffer[0..<n], handle)
            }
            return (status, body)
        } catch let error as RequestError {
            throw error
        } catch {
            throw RequestError(description: "GET \(configuration.url)\(path): \(error)")
        }
    }

    /// The `error.message` of an OpenAI-style error body, else the body's start.
    static func errorMessage(_ body: [UInt8]) -> String {
        if let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] {
            if let detail = object["error"] as? [String: Any], let message = detail["message"] as? String { return message }
            if let message = object["message"] as? String { return message }
            if let detail = object["detail"] as? String { return detail }
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(empty body)" : text
    }
}
