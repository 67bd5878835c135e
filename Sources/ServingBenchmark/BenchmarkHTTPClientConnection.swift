#if canImport(Glibc)
import Glibc
#endif

/// The benchmark client's side of one HTTP connection to the server under test: a blocking TCP socket over POSIX
/// calls that connects with a timeout, writes a whole request, and reads with a deadline (`poll` before every
/// `recv`, and SO_RCVTIMEO/SO_SNDTIMEO as a backstop), so no call can block past the request's deadline. Closed
/// when released.
final class BenchmarkHTTPClientConnection {
    /// A socket failure, with `stale` set when it looks like the server had closed an idle kept-alive connection.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        var stale = false
    }

    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to `host:port` (name or IPv4/IPv6 address), trying each resolved address within `timeout` seconds.
    static func open(host: String, port: Int, timeout: Double) throws -> BenchmarkHTTPClientConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(description: "cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var node: UnsafeMutablePointer<addrinfo>? = first
        var remainingAddresses = 16
        while let info = node, remainingAddresses > 0 {
            remainingAddresses -= 1
            node = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = "socket: \(errorText(errno))"; continue }
            let connection = BenchmarkHTTPClientConnection(fd: fd)
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { lastError = errorText(errno); continue }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&pfd, 1, Int32(max(1, timeout * 1000)))
                guard ready == 1 else { lastError = ready == 0 ? "timed out after \(timeout) s" : errorText(errno); continue }
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                guard soError == 0 else { lastError = errorText(soError); continue }
            }
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return connection
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(lastError)")
    }

    /// Sets SO_RCVTIMEO and SO_SNDTIMEO.
    func setTimeouts(seconds: Double) {
        let clamped = max(0.001, seconds)
        var value = timeval(tv_sec: Int(clamped), tv_usec: Int((clamped - clamped.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `bytes`; `reused` marks failures on a kept-alive connection as stale.
    func sendAll(_ bytes: [UInt8], reused: Bool) throws {
        var offset = 0
        var attempts = 0
        while offset < bytes.count {
            attempts += 1
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            let code = errno
            if n < 0, code == EINTR, attempts < 1000 { continue }
            throw Failure(description: "send failed: \(n == 0 ? "connection closed" : errorText(code))",
                          stale: reused && offset == 0 && (code == EPIPE || code == ECONNRESET))
        }
    }

    /// Reads what is available into `buffer` (waiting until `deadline`, a `MonotonicClock` time); returns the
    /// byte count, 0 at end of stream.
    func receive(into buffer: inout [UInt8], deadline: UInt64) throws -> Int {
        for _ in 0..<1000 {
            let now = MonotonicClock.now()
            guard now < deadline else { throw Failure(description: "timed out") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min(Double(deadline - now) / 1e6 + 1, Double(Int32.max)))
            let ready = poll(&pfd, 1, waitMs)
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "poll failed: \(errorText(errno))")
            }
            if ready == 0 { continue }  // The deadline check above ends the wait.
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return n }
            let code = errno
            if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
            throw Failure(description: "receive failed: \(errorText(code))", stale: code == ECONNRESET)
        }
        throw Failure(description: "receive gave up after repeated interruptions")
    }
}

func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
