import LoopIO
import XCTest
import Foundation
@testable import Gateway

/// A one-connection Unix-socket echo server built on blocking POSIX calls, in a private temp directory.
final class EchoServer: @unchecked Sendable {
    let directory: String
    let path: String
    private let listenFD: Int32
    private let finished = DispatchSemaphore(value: 0)

    /// `closeAfterBytes`: close the connection after echoing that many bytes (nil: echo until EOF).
    init(closeAfterBytes: Int? = nil) throws {
        var template = Array((NSTemporaryDirectory() + "/scalellm-uds-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw TestSocketError(description: "mkdtemp failed") }
        directory = String(cString: dir)
        path = directory + "/echo.sock"
        listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw TestSocketError(description: "socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listenFD, 4) == 0 else { throw TestSocketError(description: "bind/listen failed") }
        let fd = listenFD
        let finished = self.finished
        Thread {
            defer { finished.signal() }
            let conn = accept(fd, nil, nil)
            guard conn >= 0 else { return }
            defer { Glibc.close(conn) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 65536)
            var echoed = 0
            while closeAfterBytes.map({ echoed < $0 }) ?? true {
                let want = min(buffer.count, closeAfterBytes.map { $0 - echoed } ?? buffer.count)
                let n = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, want, 0) }
                if n <= 0 { return }
                var sent = 0
                while sent < n {
                    let m = buffer[sent..<n].withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if m <= 0 { return }
                    sent += m
                }
                echoed += n
            }
        }.start()
    }

    /// Waits for the echo thread to finish, then removes the socket and directory.
    func shutdown(file: StaticString = #filePath, line: UInt = #line) {
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        waitFor(finished, "echo server thread", file: file, line: line)
        Glibc.close(listenFD)
        unlink(path)
        rmdir(directory)
    }
}

/// Loop-thread state of one test connection.
final class ClientState: @unchecked Sendable {
    var connection = UnixStreamConnection()
    var received: [UInt8] = []
    var closeEvents: [LoopIOError?] = []
    var connectResult: Result<Void, LoopIOError>?
}

final class UnixStreamConnectionTests: XCTestCase {
    func testEchoRoundTripAndLocalClose() throws {
        let echo = try EchoServer()
        defer { echo.shutdown() }
        let runner = try LoopRunner()
        runner.start()
        defer { runner.finish() }
        let state = ClientState()
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let gotAll = DispatchSemaphore(value: 0)
        let closed = DispatchSemaphore(value: 0)
        let loop = runner.loop
        let path = echo.path
        loop.execute {
            state.connection.onRead = { bytes in
                state.received += bytes
                if state.received.count == payload.count + 5 { gotAll.signal() }
            }
            state.connection.onClose = { error in
                state.closeEvents.append(error)
                closed.signal()
            }
            state.connection.connect(path: path, on: loop) { result in
                state.connectResult = result
                XCTAssertTrue(state.connection.isConnected)
                XCTAssertTrue(state.connection.write(Array("hello".utf8)))
                XCTAssertTrue(state.connection.write(payload))
            }
        }
        waitFor(gotAll, "echoed bytes")
        runner.sync {
            if case .success? = state.connectResult {} else { XCTFail("connect failed: \(String(describing: state.connectResult))") }
            XCTAssertEqual(state.received, Array("hello".utf8) + payload)
            state.connection.close()
            state.connection.close()
            XCTAssertFalse(state.connection.write([1]))
        }
        waitFor(closed, "onClose")
        runner.sync {
            XCTAssertEqual(state.closeEvents.count, 1)
            XCTAssertNil(state.closeEvents.first ?? LoopIOError.closed)
        }
    }

    func testPeerCloseReportsEndOfFile() throws {
        let echo = try EchoServer(closeAfterBytes: 3)
        defer { echo.shutdown() }
        let runner = try LoopRunner()
        runner.start()
        defer { runner.finish() }
        let state = ClientState()
        let closed = DispatchSemaphore(value: 0)
        let loop = runner.loop
        let path = echo.path
        loop.execute {
            state.connection.onRead = { state.received += $0 }
            state.connection.onClose = { error in
                state.closeEvents.append(error)
                closed.signal()
            }
            state.connection.connect(path: path, on: loop) { _ in
                state.connection.write([7, 8, 9])
            }
        }
        waitFor(closed, "onClose after peer close")
        runner.sync {
            XCTAssertEqual(state.received, [7, 8, 9])
            XCTAssertEqual(state.closeEvents.count, 1)
            XCTAssertEqual(state.closeEvents.first??.isEndOfFile, true)
            XCTAssertFalse(state.connection.isConnected)
        }
    }

    func testConnectToMissingPathFails() throws {
        let runner = try LoopRunner()
        runner.start()
        defer { runner.finish() }
        let state = ClientState()
        let done = DispatchSemaphore(value: 0)
        let loop = runner.loop
        loop.execute {
            state.connection.onClose = { state.closeEvents.append($0) }
            state.connection.connect(path: "/nonexistent-scalellm-dir/worker.sock", on: loop) { result in
                state.connectResult = result
                done.signal()
            }
        }
        waitFor(done, "connect completion")
        runner.sync {
            guard case .failure(let error)? = state.connectResult else { return XCTFail("expected failure") }
            XCTAssertEqual(error.uvErrorName, "ENOENT")
            XCTAssertTrue(state.closeEvents.isEmpty)
        }
    }

    func testLoopShutdownClosesOpenConnection() throws {
        let echo = try EchoServer()
        defer { echo.shutdown() }
        let runner = try LoopRunner()
        runner.start()
        let state = ClientState()
        let connected = DispatchSemaphore(value: 0)
        let loop = runner.loop
        let path = echo.path
        loop.execute {
            state.connection.onClose = { state.closeEvents.append($0) }
            state.connection.connect(path: path, on: loop) { _ in connected.signal() }
        }
        waitFor(connected, "connect")
        runner.finish()
        XCTAssertEqual(state.closeEvents.count, 1)
    }
}
