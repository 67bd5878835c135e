import LoopIO
import XCTest
import Foundation
@testable import Gateway

/// A value shared between the test thread and the loop thread, guarded by a lock.
final class Shared<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    init(_ value: T) { _value = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); defer { lock.unlock() }; _value = newValue }
    }
    func mutate<R>(_ body: (inout T) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        return body(&_value)
    }
}

/// Runs an `EventLoop` on a background thread; `finish()` stops it and checks that every handle closed.
final class LoopRunner: @unchecked Sendable {
    let loop: EventLoop
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    init() throws {
        loop = try EventLoop()
    }

    func start() {
        started = true
        let loop = self.loop
        let done = self.done
        let thread = Thread {
            loop.run()
            done.signal()
        }
        thread.name = "test-event-loop"
        thread.start()
    }

    /// Runs `body` on the loop thread and waits for it (bounded).
    func sync(_ body: @escaping @Sendable () -> Void, file: StaticString = #filePath, line: UInt = #line) {
        let semaphore = DispatchSemaphore(value: 0)
        XCTAssertTrue(loop.execute {
            body()
            semaphore.signal()
        }, file: file, line: line)
        XCTAssertEqual(semaphore.wait(timeout: .now() + 10), .success, "loop did not run the closure",
                       file: file, line: line)
    }

    func finish(file: StaticString = #filePath, line: UInt = #line) {
        guard started else { return }
        started = false
        loop.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "loop did not stop", file: file, line: line)
        XCTAssertEqual(loop.closedCleanly, true, "uv_loop_close found open handles", file: file, line: line)
        XCTAssertEqual(loop.openResourceCount, 0, "handle owners still registered", file: file, line: line)
    }
}

func waitFor(_ semaphore: DispatchSemaphore, seconds: Double = 10, _ what: String,
             file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(semaphore.wait(timeout: .now() + seconds), .success, "timed out waiting for \(what)",
                   file: file, line: line)
}

struct TestSocketError: Error, CustomStringConvertible {
    var description: String
}

/// A parsed HTTP response read by `TestClient`.
struct TestResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// For chunked responses: each chunk's payload as received.
    var chunks: [[UInt8]] = []

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var bodyString: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking POSIX TCP client with receive/send timeouts, so that a test can never hang on it.
final class TestClient {
    let fd: Int32
    private(set) var buffer: [UInt8] = []
    private var closed = false

    init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 5, receiveBufferSize: Int32? = nil) throws {
        let isV6 = host.contains(":")
        fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSocketError(description: "socket() failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBufferSize {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let result: Int32
        if isV6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw TestSocketError(description: "connect() failed: errno \(errno)")
        }
    }

    deinit { close() }

    func close() {
        if !closed {
            closed = true
            Glibc.close(fd)
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestSocketError(description: "send() failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes into `buffer`; false on EOF. Throws on timeout or error.
    @discardableResult
    func readMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { return false }
        if n < 0 {
            if errno == ECONNRESET { return false }
            throw TestSocketError(description: "recv() failed or timed out: errno \(errno)")
        }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// Reads until the peer closes (or resets); returns everything unread.
    func readUntilClose() throws -> [UInt8] {
        var rounds = 0
        while try readMore() {
            rounds += 1
            if rounds > 100_000 { throw TestSocketError(description: "too much data") }
        }
        defer { buffer = [] }
        return buffer
    }

    /// True if the peer closed the connection (EOF or reset) with nothing more to read.
    func isClosedByPeer() throws -> Bool {
        buffer.isEmpty ? !(try readMore()) : false
    }

    private func takeLine() throws -> String {
        while true {
            if let lf = buffer.firstIndex(of: 10) {
                var end = lf
                if end > 0 && buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(lf + 1)
                return line
            }
            guard try readMore() else { throw TestSocketError(description: "EOF while reading a line") }
        }
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try readMore() else { throw TestSocketError(description: "EOF while reading \(count) bytes") }
        }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Reads the status line and headers.
    func readHead() throws -> TestResponse {
        let statusLine = try takeLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw TestSocketError(description: "bad status line: \(statusLine)")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try takeLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw TestSocketError(description: "bad header \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return TestResponse(status: status, headers: headers, body: [])
    }

    /// Reads one chunk of a chunked body; nil for the last (zero) chunk, after which trailers are consumed.
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try takeLine()
        guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
            throw TestSocketError(description: "bad chunk size \(sizeLine)")
        }
        if size == 0 {
            while try !takeLine().isEmpty {}
            return nil
        }
        let data = try take(size)
        guard try takeLine().isEmpty else { throw TestSocketError(description: "missing CRLF after chunk") }
        return data
    }

    /// Reads one whole response (Content-Length, chunked, or close-delimited). Pass `head: true` for HEAD requests.
    func readResponse(head: Bool = false) throws -> TestResponse {
        var response = try readHead()
        if response.status == 100 { response = try readHead() }
        if head || response.status == 204 || response.status == 304 { return response }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var rounds = 0
            while let chunk = try readChunk() {
                response.chunks.append(chunk)
                response.body += chunk
                rounds += 1
                if rounds > 1_000_000 { throw TestSocketError(description: "too many chunks") }
            }
        } else if let length = response.header("content-length").flatMap({ Int($0) }) {
            response.body = try take(length)
        } else {
            response.body = try readUntilClose()
        }
        return response
    }
}
