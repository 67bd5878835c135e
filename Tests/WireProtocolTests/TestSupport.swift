import TestSupport
import WireProtocol

/// A frame built by hand: 4-byte little-endian length, flags, payload.
func rawFrame(_ payload: [UInt8], flags: UInt8 = 0, declaredLength: Int? = nil) -> [UInt8] {
    let n = UInt32(declaredLength ?? payload.count)
    return [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), UInt8(n >> 24), flags] + payload
}

/// Splits an encoded frame into (length, flags, payload).
func splitFrame(_ frame: [UInt8]) -> (length: Int, flags: UInt8, payload: [UInt8]) {
    let n = Int(frame[0]) | Int(frame[1]) << 8 | Int(frame[2]) << 16 | Int(frame[3]) << 24
    return (n, frame[4], Array(frame[5...]))
}

/// One message of every kind, with non-default values in every field.
let sampleMessages: [WireMessage] = [
    .hello(Hello(protocolVersion: WireProtocolVersion.current, clientName: "gateway-7 ✓", acceptsZstd: true)),
    .helloAck(HelloAck(protocolVersion: WireProtocolVersion.current, modelID: "qwen2.5-0.5b-instruct", vocabSize: 151_936,
                       maxContext: 32_768, eosTokenIDs: [151_643, 151_645], acceptsZstd: true, workerPID: 4242, maxSequences: 256,
                       limits: RequestLimits(vocabSize: 151_936, maxContext: 32_768, kvBlocks: 4096, blockSize: 16, slidingWindow: 4096,
                                             maxBatchedTokens: 512, maxTopLogprobs: 20),
                       heartbeatIntervalMilliseconds: 250)),
    .generate(GenerateRequest(requestID: 1 << 40, promptTokenIDs: [1, 2, 3, 151_000, -1], maxTokens: 256,
                              temperature: 0.7, topP: 0.95, topK: 40, seed: 12345, stopTokenIDs: [13, 198],
                              ignoreEOS: true)),
    .generate(GenerateRequest(requestID: 2, promptTokenIDs: [], maxTokens: 0, temperature: 0, topP: 0, topK: -1,
                              seed: 0)),
    .generate(GenerateRequest(requestID: 3, promptTokenIDs: [9], maxTokens: 1)),
    .tokens(TokenBatch(updates: [
        TokenUpdate(requestID: 1, tokenIDs: [5, 6], finishReason: .notFinished, promptTokens: 12),
        TokenUpdate(requestID: 2, tokenIDs: [], finishReason: .stop),
        TokenUpdate(requestID: 3, tokenIDs: [7], finishReason: .length),
        TokenUpdate(requestID: 4, finishReason: .cancelled),
        TokenUpdate(requestID: 5, finishReason: .error, errorMessage: "kv cache exhausted"),
    ])),
    .tokens(TokenBatch()),
    .cancel(Cancel(requestID: UInt64.max)),
    .error(ErrorReply(requestID: 0, code: .versionMismatch, message: "worker speaks 1")),
    .error(ErrorReply(requestID: 9, code: .contextLengthExceeded, message: "too long", param: "max_tokens")),
    .statusRequest,
    .statusReply(StatusReply(running: 3, waiting: 9, kvBlocksUsed: 100, kvBlocksTotal: 512,
                             requestsCompleted: 1 << 33, draining: true, engineSteps: 1 << 40, stepElapsedMilliseconds: 1234)),
    .statusReply(StatusReply()),
]

/// A TokenBatch with `count` token ids spread over 8 requests (compresses well, like real streams).
func largeTokenBatch(count: Int) -> WireMessage {
    var rng = TestRandom(seed: 7)
    let perRequest = count / 8
    let updates = (0..<8).map { r in
        TokenUpdate(requestID: UInt64(r + 1),
                    tokenIDs: (0..<perRequest).map { _ in Int32(rng.next() % 4000) },
                    finishReason: r == 0 ? .length : .notFinished)
    }
    return .tokens(TokenBatch(updates: updates))
}

/// Decodes every complete frame in `bytes`.
func decodeAll(_ bytes: [UInt8], maxFrameBytes: Int = 64 << 20) throws -> [WireMessage] {
    var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    decoder.feed(bytes)
    var out: [WireMessage] = []
    while let m = try decoder.next() { out.append(m) }
    return out
}
