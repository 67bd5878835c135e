import Foundation
import XCTest
import ModelFormats
import TestSupport
import WireProtocol
@testable import EngineWorker

/// The worker does not trust its socket: a request before the handshake, non-finite sampling settings and a zstd
/// frame declaring 1 GiB are refused with typed errors (and no memory growth); connections beyond the limit are
/// refused, and thousands of connection attempts add no threads. Heartbeats arrive unasked.
final class WorkerHardeningTests: XCTestCase {
    static let maxConnections = 4
    private var fixture: StoriesWorkerFixture!
    private var server: WorkerServer { fixture.server }
    private var socketPath: String { fixture.socketPath }

    override func setUpWithError() throws {
        fixture = try StoriesWorkerFixture("hardening", configure: { options in
            options.maxConnections = WorkerHardeningTests.maxConnections
            options.heartbeatIntervalMilliseconds = 50
        })
    }

    override func tearDown() {
        fixture.tearDown()
    }

    private func handshake() throws -> BlockingFrameSocket {
        let socket = try BlockingFrameSocket.connect(path: socketPath)
        try socket.send(.hello(Hello(clientName: "test")))
        guard case .helloAck(let ack) = try socket.receive(timeout: .seconds(30)) else { throw WireError.timedOut }
        XCTAssertEqual(ack.heartbeatIntervalMilliseconds, 50)
        XCTAssertEqual(ack.limits.vocabSize, 512)
        XCTAssertGreaterThan(ack.limits.kvBlocks, 0)
        return socket
    }

    /// The next frame that is not a heartbeat.
    private func nextReply(_ socket: BlockingFrameSocket) throws -> WireMessage {
        while true {
            let message = try socket.receive(timeout: .seconds(30))
            if case .statusReply = message { continue }
            return message
        }
    }

    func testGenerateBeforeHelloIsRefusedAndTheConnectionClosed() throws {
        let socket = try BlockingFrameSocket.connect(path: socketPath)
        try socket.send(.generate(GenerateRequest(requestID: 1, promptTokenIDs: [1, 2], maxTokens: 4)))
        guard case .error(let reply) = try socket.receive(timeout: .seconds(30)) else { return XCTFail("expected a refusal") }
        XCTAssertEqual(reply.code, .helloRequired)
        XCTAssertEqual(reply.requestID, 0)
        XCTAssertThrowsError(try socket.receive(timeout: .seconds(30))) {
            XCTAssertEqual($0 as? WireError, .connectionClosed(bufferedBytes: 0))
        }
    }

    func testNonFiniteAndOutOfRangeSamplingIsRefusedPerRequest() throws {
        let socket = try handshake()
        let bad: [(GenerateRequest, String)] = [
            (GenerateRequest(requestID: 1, promptTokenIDs: [1, 2], maxTokens: 4, temperature: .nan), "temperature"),
            (GenerateRequest(requestID: 2, promptTokenIDs: [1, 2], maxTokens: 4, topP: .infinity), "top_p"),
            (GenerateRequest(requestID: 3, promptTokenIDs: [1, 2], maxTokens: 4, presencePenalty: -.infinity), "presence_penalty"),
            (GenerateRequest(requestID: 4, promptTokenIDs: [1, 2], maxTokens: 4, frequencyPenalty: 7), "frequency_penalty"),
            (GenerateRequest(requestID: 5, promptTokenIDs: [1, 2], maxTokens: 4, topK: -2), "top_k"),
            (GenerateRequest(requestID: 6, promptTokenIDs: [1, 2], maxTokens: 4, topLogprobs: 1000), "top_logprobs"),
        ]
        for (request, param) in bad {
            try socket.send(.generate(request))
            guard case .error(let reply) = try nextReply(socket) else { return XCTFail("expected a refusal for \(param)") }
            XCTAssertEqual(reply.requestID, request.requestID)
            XCTAssertEqual(reply.code, .invalidRequest)
            XCTAssertEqual(reply.param, param)
        }
        // The connection still serves a good request.
        try socket.send(.generate(GenerateRequest(requestID: 7, promptTokenIDs: [1, 2], maxTokens: 2, temperature: 0)))
        guard case .tokens = try nextReply(socket) else { return XCTFail("expected tokens") }
    }

    func testZstdFrameDeclaringAGibibyteIsRefusedWithoutAllocating() throws {
        let socket = try handshake()
        let before = try residentBytes()
        // A zstd frame header (single segment, 8-byte content size) declaring 1 GiB, with no data behind it.
        let size = UInt64(1) << 30
        let zstd: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0] + (0..<8).map { UInt8((size >> (8 * $0)) & 0xff) }
        let header: [UInt8] = [UInt8(zstd.count), 0, 0, 0, 1]
        for _ in 0..<4 {
            try socket.send(encodedFrame: header + zstd)
        }
        guard case .error(let reply) = try nextReply(socket) else { return XCTFail("expected a refusal") }
        XCTAssertEqual(reply.code, .badFrame)
        XCTAssertTrue(reply.message.contains("\(1 << 30)"), reply.message)
        XCTAssertLessThan(try residentBytes() - before, 64 << 20, "the declared size was allocated")
    }

    func testConnectionsBeyondTheLimitAreRefusedAndAttemptsAddNoThreads() throws {
        let threadsBefore = try threadCount()
        let open = try (0..<Self.maxConnections).map { _ in try handshake() }
        let refused = try BlockingFrameSocket.connect(path: socketPath)
        guard case .error(let reply) = try refused.receive(timeout: .seconds(30)) else { return XCTFail("expected a refusal") }
        XCTAssertEqual(reply.code, .tooManyConnections)
        refused.close()
        for _ in 0..<2000 {
            let attempt = try BlockingFrameSocket.connect(path: socketPath)
            attempt.close()
        }
        // Other threads of the test process may come and go; a thread per connection would add 2,000.
        XCTAssertLessThanOrEqual(try threadCount(), threadsBefore + 4, "connection attempts created threads")
        // Those at the limit are still served, and a heartbeat reaches them unasked.
        guard case .statusReply(let beat) = try open[0].receive(timeout: .seconds(30)) else { return XCTFail("expected a heartbeat") }
        XCTAssertEqual(beat.running, 0)
        open.forEach { $0.close() }
    }

    private func threadCount() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count }

    private func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return Int(fields[1])! * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
