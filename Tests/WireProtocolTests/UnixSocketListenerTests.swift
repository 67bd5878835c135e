import XCTest
import Dispatch
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The listener owns its socket path: stale files, permissions, unlink on close.
final class UnixSocketListenerTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/scalellm-wire-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let dir = try XCTUnwrap(made)
        directory = String(cString: dir)
    }

    override func tearDownWithError() throws {
        if let entries = try? FileManagerless.list(directory) {
            for e in entries { unlink(directory + "/" + e) }
        }
        rmdir(directory)
    }

    private func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    func testConnectAcceptExchangeAndUnlinkOnClose() throws {
        let path = directory + "/worker0.sock"
        let listener = try UnixSocketListener(path: path)
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        let client = try BlockingFrameSocket.connect(path: path)  // queued in the backlog until accept
        let server = try listener.accept(timeout: .seconds(5))
        try client.send(.hello(Hello(clientName: "test")))
        XCTAssertEqual(try server.receive(timeout: .seconds(5)), .hello(Hello(clientName: "test")))
        try server.send(.helloAck(HelloAck(modelID: "m", workerPID: UInt32(getpid()))))
        XCTAssertEqual(try client.receive(timeout: .seconds(5)), .helloAck(HelloAck(modelID: "m", workerPID: UInt32(getpid()))))

        listener.close()
        XCTAssertFalse(exists(path))
        XCTAssertThrowsError(try BlockingFrameSocket.connect(path: path))
        try client.send(.statusRequest)  // accepted connections outlive the listener
        XCTAssertEqual(try server.receive(timeout: .seconds(5)), .statusRequest)
    }

    func testAcceptTimesOut() throws {
        let listener = try UnixSocketListener(path: directory + "/idle.sock")
        XCTAssertThrowsError(try listener.accept(timeout: .milliseconds(1))) {
            XCTAssertEqual($0 as? WireError, .timedOut)
        }
    }

    func testStaleSocketFileIsReplaced() throws {
        let path = directory + "/stale.sock"
        // Leave a socket file behind without a listener: bind a raw socket and close it without unlinking.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0)
        close(fd)
        XCTAssertTrue(exists(path))

        let listener = try UnixSocketListener(path: path)
        let client = try BlockingFrameSocket.connect(path: path)
        _ = try listener.accept(timeout: .seconds(5))
        client.close()
    }

    func testLiveListenerIsNotStolen() throws {
        let path = directory + "/live.sock"
        let first = try UnixSocketListener(path: path)
        XCTAssertThrowsError(try UnixSocketListener(path: path)) { error in
            guard case WireError.system(_, let code) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, EADDRINUSE)
        }
        first.close()
    }

    func testRegularFileIsNeverDeleted() throws {
        let path = directory + "/model.bin"
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        close(fd)
        XCTAssertThrowsError(try UnixSocketListener(path: path)) { error in
            guard case WireError.invalidSocketPath = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(exists(path))
    }

    func testPathTooLong() {
        let path = directory + "/" + String(repeating: "x", count: 120)
        XCTAssertThrowsError(try UnixSocketListener(path: path)) { error in
            guard case WireError.invalidSocketPath = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try BlockingFrameSocket.connect(path: path))
    }

    func testCloseDoesNotUnlinkAReplacement() throws {
        let path = directory + "/replaced.sock"
        let old = try UnixSocketListener(path: path)
        unlink(path)
        let new = try UnixSocketListener(path: path)
        old.close()
        XCTAssertTrue(exists(path))
        new.close()
        XCTAssertFalse(exists(path))
    }
}

/// Directory listing with opendir/readdir (keeps the test free of Foundation's FileManager).
enum FileManagerless {
    static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
