import CProtobufC
import CWireMessages

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Conversion between the Swift message values and protobuf-c's generated C structs.
// Nothing here is public: the C types stay inside the module.

typealias CFrame = Scalellm__Wire__V1__Frame

/// Owns every C allocation made while building one C `Frame` for packing; frees them all in `deinit`.
///
/// Exists because protobuf-c messages are trees of raw pointers (strings, repeated fields, sub-messages) that must
/// outlive the `pack` call; tying them to one owner makes leaks impossible on every path, including throws.
private final class PackArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for p in allocations { free(p) }
    }

    /// A zero-filled, malloc'ed `T` (protobuf-c structs are plain C data).
    func make<T>(_: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride)!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `s`. protobuf-c strings are C strings, so embedded NULs cannot be carried.
    func string(_ s: String, field: StaticString) throws(WireError) -> UnsafeMutablePointer<CChar> {
        let utf8 = s.utf8
        if utf8.contains(0) { throw .unencodable("string field \(field) contains a NUL byte") }
        let p = make(CChar.self, count: utf8.count + 1)
        var i = 0
        for byte in utf8 { p[i] = CChar(bitPattern: byte); i += 1 }
        p[i] = 0
        return p
    }

    /// A copy of `values` for a repeated scalar field (nil when empty, as protobuf-c expects with n == 0).
    func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        if values.isEmpty { return nil }
        let p = make(T.self, count: values.count)
        values.withUnsafeBufferPointer { src in p.update(from: src.baseAddress!, count: src.count) }
        return p
    }

    func int32s(_ values: [Int32]) -> UnsafeMutablePointer<Int32>? { copy(values) }
}

/// Packs `message` as a protobuf `Frame` into a new array that starts with `headerRoom` zero bytes.
func packFrame(_ message: WireMessage, headerRoom: Int) throws(WireError) -> [UInt8] {
    let arena = PackArena()
    var frame = CFrame()
    scalellm__wire__v1__frame__init(&frame)

    switch message {
    case .hello(let m):
        let c = arena.make(Scalellm__Wire__V1__Hello.self)
        scalellm__wire__v1__hello__init(c)
        c.pointee.protocol_version = m.protocolVersion
        c.pointee.client_name = try arena.string(m.clientName, field: "client_name")
        c.pointee.accepts_zstd = m.acceptsZstd ? 1 : 0
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_HELLO
        frame.hello = c
    case .helloAck(let m):
        let c = arena.make(Scalellm__Wire__V1__HelloAck.self)
        scalellm__wire__v1__hello_ack__init(c)
        c.pointee.protocol_version = m.protocolVersion
        c.pointee.model_id = try arena.string(m.modelID, field: "model_id")
        let limits = arena.make(Scalellm__Wire__V1__RequestLimits.self)
        scalellm__wire__v1__request_limits__init(limits)
        limits.pointee.vocab_size = UInt32(clamping: m.limits.vocabSize)
        limits.pointee.max_context = UInt32(clamping: m.limits.maxContext)
        limits.pointee.kv_blocks = UInt32(clamping: m.limits.kvBlocks)
        limits.pointee.block_size = UInt32(clamping: m.limits.blockSize)
        limits.pointee.sliding_window = UInt32(clamping: m.limits.slidingWindow ?? 0)
        limits.pointee.max_batched_tokens = UInt32(clamping: m.limits.maxBatchedTokens)
        limits.pointee.max_top_logprobs = UInt32(clamping: m.limits.maxTopLogprobs)
        c.pointee.limits = limits
        c.pointee.heartbeat_interval_ms = m.heartbeatIntervalMilliseconds
        c.pointee.n_eos_token_ids = m.eosTokenIDs.count
        c.pointee.eos_token_ids = arena.int32s(m.eosTokenIDs)
        c.pointee.accepts_zstd = m.acceptsZstd ? 1 : 0
        c.pointee.worker_pid = m.workerPID
        c.pointee.max_sequences = m.maxSequences
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_HELLO_ACK
        frame.hello_ack = c
    case .generate(let m):
        let c = arena.make(Scalellm__Wire__V1__GenerateRequest.self)
        scalellm__wire__v1__generate_request__init(c)
        c.pointee.request_id = m.requestID
        c.pointee.n_prompt_token_ids = m.promptTokenIDs.count
        c.pointee.prompt_token_ids = arena.int32s(m.promptTokenIDs)
        c.pointee.max_tokens = m.maxTokens
        c.pointee.temperature = m.temperature
        c.pointee.top_p = m.topP
        c.pointee.top_k = m.topK
        c.pointee.has_seed = m.seed != nil ? 1 : 0
        c.pointee.seed = m.seed ?? 0
        c.pointee.n_stop_token_ids = m.stopTokenIDs.count
        c.pointee.stop_token_ids = arena.int32s(m.stopTokenIDs)
        c.pointee.ignore_eos = m.ignoreEOS ? 1 : 0
        c.pointee.presence_penalty = m.presencePenalty
        c.pointee.frequency_penalty = m.frequencyPenalty
        c.pointee.logprobs = m.topLogprobs != nil ? 1 : 0
        c.pointee.top_logprobs = m.topLogprobs ?? 0
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_GENERATE
        frame.generate = c
    case .tokens(let m):
        let c = arena.make(Scalellm__Wire__V1__TokenBatch.self)
        scalellm__wire__v1__token_batch__init(c)
        let n = m.updates.count
        if n > 0 {
            let updates = arena.make(Scalellm__Wire__V1__TokenUpdate.self, count: n)
            let pointers = arena.make(UnsafeMutablePointer<Scalellm__Wire__V1__TokenUpdate>?.self, count: n)
            for (i, u) in m.updates.enumerated() {
                let cu = updates + i
                scalellm__wire__v1__token_update__init(cu)
                cu.pointee.request_id = u.requestID
                cu.pointee.n_token_ids = u.tokenIDs.count
                cu.pointee.token_ids = arena.int32s(u.tokenIDs)
                cu.pointee.finish_reason = Scalellm__Wire__V1__FinishReason(rawValue: UInt32(bitPattern: u.finishReason.rawValue))
                cu.pointee.prompt_tokens = u.promptTokens
                cu.pointee.error_message = try arena.string(u.errorMessage, field: "error_message")
                if !u.logprobs.isEmpty {
                    let entries = arena.make(Scalellm__Wire__V1__TokenLogprob.self, count: u.logprobs.count)
                    let entryPointers = arena.make(UnsafeMutablePointer<Scalellm__Wire__V1__TokenLogprob>?.self, count: u.logprobs.count)
                    for (j, l) in u.logprobs.enumerated() {
                        let e = entries + j
                        scalellm__wire__v1__token_logprob__init(e)
                        e.pointee.logprob = l.logprob
                        e.pointee.n_top_token_ids = l.topTokenIDs.count
                        e.pointee.top_token_ids = arena.int32s(l.topTokenIDs)
                        e.pointee.n_top_logprobs = l.topLogprobs.count
                        e.pointee.top_logprobs = arena.copy(l.topLogprobs)
                        entryPointers[j] = e
                    }
                    cu.pointee.n_logprobs = u.logprobs.count
                    cu.pointee.logprobs = entryPointers
                }
                pointers[i] = cu
            }
            c.pointee.n_updates = n
            c.pointee.updates = pointers
        }
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_TOKENS
        frame.tokens = c
    case .cancel(let m):
        let c = arena.make(Scalellm__Wire__V1__Cancel.self)
        scalellm__wire__v1__cancel__init(c)
        c.pointee.request_id = m.requestID
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_CANCEL
        frame.cancel = c
    case .error(let m):
        let c = arena.make(Scalellm__Wire__V1__ErrorReply.self)
        scalellm__wire__v1__error_reply__init(c)
        c.pointee.request_id = m.requestID
        c.pointee.code = Scalellm__Wire__V1__ErrorCode(rawValue: UInt32(bitPattern: m.code.rawValue))
        c.pointee.message = try arena.string(m.message, field: "message")
        c.pointee.param = try arena.string(m.param ?? "", field: "param")
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_ERROR
        frame.error = c
    case .statusRequest:
        let c = arena.make(Scalellm__Wire__V1__StatusRequest.self)
        scalellm__wire__v1__status_request__init(c)
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_STATUS_REQUEST
        frame.status_request = c
    case .statusReply(let m):
        let c = arena.make(Scalellm__Wire__V1__StatusReply.self)
        scalellm__wire__v1__status_reply__init(c)
        c.pointee.running = m.running
        c.pointee.waiting = m.waiting
        c.pointee.kv_blocks_used = m.kvBlocksUsed
        c.pointee.kv_blocks_total = m.kvBlocksTotal
        c.pointee.requests_completed = m.requestsCompleted
        c.pointee.draining = m.draining ? 1 : 0
        c.pointee.engine_steps = m.engineSteps
        c.pointee.step_elapsed_ms = m.stepElapsedMilliseconds
        frame.body_case = SCALELLM__WIRE__V1__FRAME__BODY_STATUS_REPLY
        frame.status_reply = c
    }

    let size = scalellm__wire__v1__frame__get_packed_size(&frame)
    guard size <= Int(UInt32.max) else { throw .frameTooLarge(size) }
    var out = [UInt8](repeating: 0, count: headerRoom + size)
    let written = out.withUnsafeMutableBufferPointer { buf in
        scalellm__wire__v1__frame__pack(&frame, buf.baseAddress! + headerRoom)
    }
    precondition(written == size, "protobuf-c packed \(written) bytes, predicted \(size)")
    withExtendedLifetime(arena) {}
    return out
}

/// Unpacks a protobuf `Frame` and converts it to a `WireMessage`; the C tree is always freed before returning.
func unpackFrame(_ payload: UnsafeRawBufferPointer) throws(WireError) -> WireMessage {
    let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self)
    // protobuf-c reads nothing for length 0 but wants a non-null pointer in principle: use a dummy byte.
    var dummy: UInt8 = 0
    let frameOrNil: UnsafeMutablePointer<CFrame>? = withUnsafeMutablePointer(to: &dummy) { d in
        scalellm__wire__v1__frame__unpack(nil, payload.count, base ?? UnsafePointer(d))
    }
    guard let frame = frameOrNil else {
        throw .malformedMessage("payload of \(payload.count) bytes is not a valid protobuf Frame")
    }
    defer { scalellm__wire__v1__frame__free_unpacked(frame, nil) }
    return try convert(frame.pointee)
}

private func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
    guard let p else { return "" }
    return String(cString: p)  // invalid UTF-8 is repaired with U+FFFD, never trapped on
}

private func int32s(_ p: UnsafeMutablePointer<Int32>?, _ n: Int) -> [Int32] {
    guard let p, n > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: n))
}

private func missing(_ what: String) -> WireError { .malformedMessage("\(what) body is null") }

private func convert(_ frame: CFrame) throws(WireError) -> WireMessage {
    switch frame.body_case {
    case SCALELLM__WIRE__V1__FRAME__BODY_HELLO:
        guard let c = frame.hello?.pointee else { throw missing("hello") }
        return .hello(Hello(protocolVersion: c.protocol_version, clientName: string(c.client_name),
                            acceptsZstd: c.accepts_zstd != 0))
    case SCALELLM__WIRE__V1__FRAME__BODY_HELLO_ACK:
        guard let c = frame.hello_ack?.pointee else { throw missing("hello_ack") }
        guard let l = c.limits?.pointee else { throw missing("hello_ack.limits") }
        let limits = RequestLimits(vocabSize: Int(l.vocab_size), maxContext: Int(l.max_context), kvBlocks: Int(l.kv_blocks),
                                   blockSize: Int(l.block_size), slidingWindow: l.sliding_window == 0 ? nil : Int(l.sliding_window),
                                   maxBatchedTokens: Int(l.max_batched_tokens), maxTopLogprobs: Int(l.max_top_logprobs))
        return .helloAck(HelloAck(protocolVersion: c.protocol_version, modelID: string(c.model_id),
                                  eosTokenIDs: int32s(c.eos_token_ids, c.n_eos_token_ids),
                                  acceptsZstd: c.accepts_zstd != 0, workerPID: c.worker_pid, maxSequences: c.max_sequences,
                                  limits: limits, heartbeatIntervalMilliseconds: c.heartbeat_interval_ms))
    case SCALELLM__WIRE__V1__FRAME__BODY_GENERATE:
        guard let c = frame.generate?.pointee else { throw missing("generate") }
        return .generate(GenerateRequest(
            requestID: c.request_id, promptTokenIDs: int32s(c.prompt_token_ids, c.n_prompt_token_ids),
            maxTokens: c.max_tokens, temperature: c.temperature, topP: c.top_p, topK: c.top_k,
            seed: c.has_seed != 0 ? c.seed : nil, stopTokenIDs: int32s(c.stop_token_ids, c.n_stop_token_ids),
            ignoreEOS: c.ignore_eos != 0, presencePenalty: c.presence_penalty, frequencyPenalty: c.frequency_penalty,
            topLogprobs: c.logprobs != 0 ? c.top_logprobs : nil))
    case SCALELLM__WIRE__V1__FRAME__BODY_TOKENS:
        guard let c = frame.tokens?.pointee else { throw missing("tokens") }
        var updates: [TokenUpdate] = []
        updates.reserveCapacity(c.n_updates)
        for i in 0..<c.n_updates {
            guard let u = c.updates?[i]?.pointee else { throw missing("token update") }
            let raw = Int32(bitPattern: u.finish_reason.rawValue)
            guard let reason = FinishReason(rawValue: raw) else {
                throw .malformedMessage("unknown finish_reason \(raw)")
            }
            var logprobs: [TokenLogprob] = []
            for j in 0..<u.n_logprobs {
                guard let l = u.logprobs?[j]?.pointee else { throw missing("token logprob") }
                guard l.n_top_token_ids == l.n_top_logprobs else { throw .malformedMessage("top_token_ids and top_logprobs differ in length") }
                logprobs.append(TokenLogprob(logprob: l.logprob, topTokenIDs: int32s(l.top_token_ids, l.n_top_token_ids),
                                             topLogprobs: l.n_top_logprobs == 0 ? [] : Array(UnsafeBufferPointer(start: l.top_logprobs, count: l.n_top_logprobs))))
            }
            updates.append(TokenUpdate(requestID: u.request_id, tokenIDs: int32s(u.token_ids, u.n_token_ids),
                                       finishReason: reason, promptTokens: u.prompt_tokens,
                                       errorMessage: string(u.error_message), logprobs: logprobs))
        }
        return .tokens(TokenBatch(updates: updates))
    case SCALELLM__WIRE__V1__FRAME__BODY_CANCEL:
        guard let c = frame.cancel?.pointee else { throw missing("cancel") }
        return .cancel(Cancel(requestID: c.request_id))
    case SCALELLM__WIRE__V1__FRAME__BODY_ERROR:
        guard let c = frame.error?.pointee else { throw missing("error") }
        let raw = Int32(bitPattern: c.code.rawValue)
        guard let code = ErrorCode(rawValue: raw) else { throw .malformedMessage("unknown error code \(raw)") }
        let param = string(c.param)
        return .error(ErrorReply(requestID: c.request_id, code: code, message: string(c.message), param: param.isEmpty ? nil : param))
    case SCALELLM__WIRE__V1__FRAME__BODY_STATUS_REQUEST:
        guard frame.status_request != nil else { throw missing("status_request") }
        return .statusRequest
    case SCALELLM__WIRE__V1__FRAME__BODY_STATUS_REPLY:
        guard let c = frame.status_reply?.pointee else { throw missing("status_reply") }
        return .statusReply(StatusReply(running: c.running, waiting: c.waiting, kvBlocksUsed: c.kv_blocks_used,
                                        kvBlocksTotal: c.kv_blocks_total, requestsCompleted: c.requests_completed,
                                        draining: c.draining != 0, engineSteps: c.engine_steps,
                                        stepElapsedMilliseconds: c.step_elapsed_ms))
    case SCALELLM__WIRE__V1__FRAME__BODY__NOT_SET:
        // Unknown fields present: a newer peer's body kind. Nothing at all: an empty oneof, which no sender produces.
        if frame.base.n_unknown_fields > 0 { throw .unknownMessage }
        throw .malformedMessage("frame has no body (empty oneof)")
    default:
        throw .unknownMessage
    }
}
