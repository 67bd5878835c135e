import Foundation
import XCTest
import ModelFormats
import TestSupport
import WireProtocol
@testable import EngineWorker

/// The worker over its real Unix socket: handshake, many concurrent requests whose tokens share frames, cancel
/// freeing KV blocks as the status frame shows, per-request errors, malformed frames answered, not crashed on, and
/// a gateway that stops reading dropped instead of stalling the engine.
final class WorkerServerTests: XCTestCase {
    private var fixture: StoriesWorkerFixture!
    private var server: WorkerServer { fixture.server }
    private var socketPath: String { fixture.socketPath }

    override func setUpWithError() throws {
        fixture = try StoriesWorkerFixture("worker", configure: { options in
            // A small write backlog, so that a gateway that stops reading is dropped soon.
            options.maxPendingWriteBytes = 64 << 10
        })
    }

    override func tearDown() {
        fixture.tearDown()
    }

    func connect(acceptsZstd: Bool = true) throws -> BlockingFrameSocket {
        let socket = try BlockingFrameSocket.connect(path: socketPath)
        try socket.send(.hello(Hello(clientName: "test", acceptsZstd: acceptsZstd)))
        let reply = try socket.receive(timeout: .seconds(30))
        guard case .helloAck(let ack) = reply else { throw WireError.malformedMessage("expected a hello ack, got \(reply)") }
        XCTAssertEqual(ack.modelID, "stories260K")
        XCTAssertEqual(ack.vocabSize, 512)
        XCTAssertEqual(ack.maxContext, 512)
        return socket
    }

    private func status(_ socket: BlockingFrameSocket) throws -> StatusReply {
        try socket.send(.statusRequest)
        while true {
            if case .statusReply(let reply) = try socket.receive(timeout: .seconds(30)) { return reply }
        }
    }

    /// Asks `socket` for the worker's status until no sequence runs or waits and every KV block is free (the engine
    /// thread applies cancels between steps), for at most 30 s, then checks that it came to that.
    private func assertAllBlocksFreed(_ socket: BlockingFrameSocket, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var reply = try status(socket)
        while reply.kvBlocksUsed + reply.running + reply.waiting > 0, ContinuousClock.now < deadline { reply = try status(socket) }
        XCTAssertEqual(reply.kvBlocksUsed, 0, "KV blocks were not freed", file: file, line: line)
        XCTAssertEqual(reply.running + reply.waiting, 0, file: file, line: line)
    }

    func testConcurrentRequestsMatchGoldenAndShareFrames() throws {
        let socket = try connect()
        let cases = try SharedData.goldenCases("stories260K", "generation.json")
        for (i, c) in cases.enumerated() {
            try socket.send(.generate(GenerateRequest(requestID: UInt64(i + 1), promptTokenIDs: c.tokenIDs("prompt_token_ids"),
                                                      maxTokens: 48, temperature: 0, ignoreEOS: true)))
        }
        var tokens: [UInt64: [Int32]] = [:], finished: Set<UInt64> = [], largestFrame = 0
        while finished.count < cases.count {
            guard case .tokens(let batch) = try socket.receive(timeout: .seconds(60)) else { continue }
            largestFrame = max(largestFrame, batch.updates.count)
            for update in batch.updates {
                tokens[update.requestID, default: []] += update.tokenIDs
                if update.finishReason.isFinished {
                    XCTAssertEqual(update.finishReason, .length)
                    finished.insert(update.requestID)
                }
            }
        }
        XCTAssertGreaterThan(largestFrame, 1, "tokens of concurrent requests should share frames")
        for (i, c) in cases.enumerated() {
            let expected = c.tokenIDs("continuation_token_ids")
            // Only the documented near-tie may flip; the tokens before it must agree.
            let agreeing = GoldenTokens.mustAgree(model: "stories260K", caseID: c["id"] as! String, tokens[UInt64(i + 1)] ?? [], expected)
            XCTAssertEqual(agreeing.generated, agreeing.reference, "case \(c["id"]!)")
        }
        try assertAllBlocksFreed(socket)
        XCTAssertEqual(try status(socket).requestsCompleted, UInt64(cases.count))
    }

    func testCancelFreesBlocksAndErrorsAreReported() throws {
        let socket = try connect()
        try socket.send(.generate(GenerateRequest(requestID: 7, promptTokenIDs: [1, 400, 500], maxTokens: 400, temperature: 0, ignoreEOS: true)))
        // Wait for the first tokens, then cancel.
        while true {
            if case .tokens(let batch) = try socket.receive(timeout: .seconds(30)), !batch.updates.isEmpty { break }
        }
        try socket.send(.cancel(Cancel(requestID: 7)))
        var cancelled = false
        while !cancelled {
            if case .tokens(let batch) = try socket.receive(timeout: .seconds(30)) {
                cancelled = batch.updates.contains { $0.requestID == 7 && $0.finishReason == .cancelled }
            }
        }
        try assertAllBlocksFreed(socket)

        // Too long for the context: an error reply for that request only.
        try socket.send(.generate(GenerateRequest(requestID: 8, promptTokenIDs: Array(repeating: 1, count: 500), maxTokens: 100)))
        guard case .error(let error) = try socket.receive(timeout: .seconds(30)) else { return XCTFail("expected an error reply") }
        XCTAssertEqual(error.requestID, 8)
        XCTAssertEqual(error.code, .contextLengthExceeded)
        XCTAssertEqual(error.param, "max_tokens")
        // max_tokens 0: a bad request, refused for that request only.
        try socket.send(.generate(GenerateRequest(requestID: 10, promptTokenIDs: [1, 2, 3], maxTokens: 0)))
        guard case .error(let zero) = try socket.receive(timeout: .seconds(30)) else { return XCTFail("expected an error reply") }
        XCTAssertEqual(zero.requestID, 10)
        XCTAssertEqual(zero.code, .invalidRequest)
        XCTAssertEqual(zero.param, "max_tokens")
        XCTAssertEqual(zero.message, "max_tokens must be at least 1, got 0")

        // A gateway that disconnects mid-request has its requests cancelled.
        try socket.send(.generate(GenerateRequest(requestID: 9, promptTokenIDs: [1, 2, 3], maxTokens: 400, ignoreEOS: true)))
        socket.close()
        try assertAllBlocksFreed(try connect())
    }

    func testGatewayThatStopsReadingIsDroppedAndItsRequestsCancelled() throws {
        // Uncompressed frames of 8 updates carrying 20 logprobs each fill the worker's socket buffer (~200 kB) long
        // before the 400 tokens are done.
        let stalled = try connect(acceptsZstd: false)
        for id in 1...8 {
            try stalled.send(.generate(GenerateRequest(requestID: UInt64(id), promptTokenIDs: [1, 400, 500], maxTokens: 400,
                                                       ignoreEOS: true, topLogprobs: 20)))
        }
        // Meanwhile another gateway is served to the end: the engine never waits for the one that stopped reading.
        let observer = try connect()
        try observer.send(.generate(GenerateRequest(requestID: 1, promptTokenIDs: [1, 400, 500], maxTokens: 64, ignoreEOS: true)))
        var received = 0
        while received < 64 {
            if case .tokens(let batch) = try observer.receive(timeout: .seconds(30)) {
                received += batch.updates.reduce(0) { $0 + $1.tokenIDs.count }
            }
        }
        // Never read: once 64 kB wait unsent the worker hangs up on this connection.
        XCTAssertTrue(waitForHangUp(stalled, milliseconds: 60_000), "the worker kept waiting for a gateway that stopped reading")
        try assertAllBlocksFreed(observer)
        XCTAssertEqual(try status(observer).requestsCompleted, 1, "the stalled gateway's requests were cancelled, not run to their end")
    }

    /// Waits, without reading, until the peer hangs up on `socket`; false if it has not within the time given.
    private func waitForHangUp(_ socket: BlockingFrameSocket, milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: socket.fileDescriptor, events: 0, revents: 0)   // hang-ups are always reported
        var ready: Int32
        repeat { ready = poll(&descriptor, 1, milliseconds) } while ready < 0 && errno == EINTR
        return ready > 0 && descriptor.revents & Int16(POLLHUP) != 0
    }

    func testMalformedFramesGetErrorsNotCrashes() throws {
        let socket = try BlockingFrameSocket.connect(path: socketPath)
        // A frame header with reserved flag bits set.
        try socket.send(encodedFrame: [3, 0, 0, 0, 0x80, 1, 2, 3])
        guard case .error(let reply) = try socket.receive(timeout: .seconds(30)) else { return XCTFail("expected an error") }
        XCTAssertEqual(reply.code, .badFrame)
        // A wrong protocol version is refused.
        let other = try BlockingFrameSocket.connect(path: socketPath)
        try other.send(.hello(Hello(protocolVersion: 99)))
        guard case .error(let mismatch) = try other.receive(timeout: .seconds(30)) else { return XCTFail("expected a refusal") }
        XCTAssertEqual(mismatch.code, .versionMismatch)
        // The worker still serves others.
        _ = try connect()
    }
}

extension WorkerServerTests {
    /// Request ids are chosen per connection: two gateways may use the same ids at the same time.
    func testRequestIDsAreScopedToTheirConnection() throws {
        let a = try connect(), b = try connect()
        for socket in [a, b] {
            try socket.send(.generate(GenerateRequest(requestID: 1, promptTokenIDs: [1, 400, 500], maxTokens: 20, temperature: 0, ignoreEOS: true)))
        }
        for socket in [a, b] {
            var tokens: [Int32] = [], finished = false
            while !finished {
                guard case .tokens(let batch) = try socket.receive(timeout: .seconds(60)) else { return XCTFail("expected tokens") }
                for update in batch.updates {
                    XCTAssertEqual(update.requestID, 1)
                    tokens += update.tokenIDs
                    finished = finished || update.finishReason.isFinished
                }
            }
            XCTAssertEqual(tokens.count, 20)
        }
        // A duplicate id on the same connection is refused for that request only.
        try a.send(.generate(GenerateRequest(requestID: 5, promptTokenIDs: [1, 2], maxTokens: 300, ignoreEOS: true)))
        try a.send(.generate(GenerateRequest(requestID: 5, promptTokenIDs: [1, 2], maxTokens: 1)))
        var refused = false
        while !refused {
            if case .error(let reply) = try a.receive(timeout: .seconds(60)) {
                XCTAssertEqual(reply.requestID, 5)
                refused = true
            }
        }
    }
}
