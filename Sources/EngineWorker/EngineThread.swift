import Kernels
import LoopIO
import WireProtocol

/// The thread that owns the engine: it takes commands from its inbox between steps, runs steps while there is
/// work, and publishes each step's frames as a `StepOutbox` (`publish`, which hands them to the loop thread) and
/// its counters to `WorkerSharedState`. It never touches a socket and never waits for one.
final class EngineThread: @unchecked Sendable {
    private let engine: Engine
    private let inbox: EngineInbox
    private let shared: WorkerSharedState
    private let publish: @Sendable (StepOutbox) -> Void
    private let stopped: @Sendable () -> Void
    /// Engine thread only.
    private var requests = RequestTable()

    /// `publish` gets every non-empty outbox; `stopped` runs once the thread ends because its group failed.
    init(engine: Engine, inbox: EngineInbox, shared: WorkerSharedState, publish: @escaping @Sendable (StepOutbox) -> Void,
         stopped: @escaping @Sendable () -> Void) {
        self.engine = engine
        self.inbox = inbox
        self.shared = shared
        self.publish = publish
        self.stopped = stopped
    }

    /// Runs until the inbox closes (the worker stops) or the tensor-parallel group fails.
    func run() {
        while let commands = inbox.take(wait: !engine.hasWork) {
            let woke = monotonicSeconds()
            var outbox = StepOutbox()
            let draining = shared.withLock { $0.draining }
            for command in commands { apply(command, draining: draining, to: &outbox) }
            var completed: UInt64 = 0, generated = 0
            let began = monotonicSeconds()
            if engine.hasWork {
                let outputs: [SequenceOutput]
                shared.withLock { $0.stepStartedAt = began }
                defer { shared.withLock { $0.stepStartedAt = nil } }
                do { outputs = try engine.checkedStep() } catch {
                    fail(error, outbox: outbox)
                    return
                }
                for output in outputs {
                    generated += output.tokens.count
                    guard let owner = requests.owner(of: output.id) else { continue }
                    outbox.add(output.update(wireID: owner.wireID), to: owner.connection)
                    if output.finishReason != nil {
                        requests.remove(engineID: output.id)
                        completed += 1
                    }
                }
            }
            let statistics = engine.statistics
            if !outbox.isEmpty { publish(outbox) }
            let ended = monotonicSeconds()
            shared.withLock {
                $0.engineBusySeconds += ended - woke
                if statistics.steps > $0.engine.steps {
                    $0.steps.record(end: ended, duration: ended - began, generated: generated,
                                    computed: statistics.tokensComputed - $0.engine.tokensComputed)
                }
                $0.engine = statistics
                $0.requestsCompleted += completed
            }
        }
    }

    private func apply(_ command: EngineCommand, draining: Bool, to outbox: inout StepOutbox) {
        switch command {
        case .add(let wire, let connection):
            let owner = RequestTable.Owner(connection: connection, wireID: wire.requestID)
            if draining {
                return outbox.add(ErrorReply(requestID: wire.requestID, code: .draining,
                                             message: "the worker is draining: it finishes running requests and admits no new ones"), to: connection)
            }
            guard !requests.contains(owner) else {
                return outbox.add(ErrorReply(requestID: wire.requestID, code: .invalidRequest,
                                             message: "request id \(wire.requestID) is already being served"), to: connection)
            }
            let id = requests.nextEngineID()
            do throws(EngineError) {
                try engine.add(GenerationRequest(wire, id: id, eosTokenIDs: engine.config.eosTokenIDs))
                requests.insert(owner, engineID: id)
            } catch {
                outbox.add(error.reply(to: wire.requestID), to: connection)
            }
        case .cancel(let wireID, let connection):
            guard let id = requests.remove(RequestTable.Owner(connection: connection, wireID: wireID)), engine.cancel(id) else { return }
            outbox.add(TokenUpdate(requestID: wireID, finishReason: .cancelled), to: connection)
        case .connectionClosed(let connection):
            for id in requests.removeAll(of: connection) { engine.cancel(id) }
        }
    }

    /// The group failed: every in-flight and not yet admitted request gets an error frame, then the worker stops.
    private func fail(_ error: TensorParallelError, outbox: StepOutbox) {
        var outbox = outbox
        shared.withLock { $0.failure = error }
        for owner in requests.removeAll() { outbox.add(error.reply(to: owner.wireID), to: owner.connection) }
        for case .add(let request, let connection) in inbox.close() { outbox.add(error.reply(to: request.requestID), to: connection) }
        publish(outbox)
        stopped()
    }
}

extension TensorParallelError {
    /// The error frame that ends a request when the group fails.
    func reply(to requestID: UInt64) -> ErrorReply {
        ErrorReply(requestID: requestID, code: .workerFailed, message: "the request failed: \(description)")
    }
}

extension EngineError {
    /// The error frame refusing a request.
    func reply(to requestID: UInt64) -> ErrorReply {
        switch self {
        case .rejected(let rejection): return ErrorReply(requestID: requestID, rejection)
        case .duplicateRequestID: return ErrorReply(requestID: requestID, code: .invalidRequest, message: description)
        case .overloaded: return ErrorReply(requestID: requestID, code: .overloaded, message: description)
        }
    }
}

extension SequenceOutput {
    /// This step's output as the gateway's request `wireID` sees it.
    func update(wireID: UInt64) -> TokenUpdate {
        TokenUpdate(requestID: wireID, tokenIDs: tokens, finishReason: finishReason?.wire ?? .notFinished,
                    promptTokens: UInt32(promptTokens),
                    logprobs: logprobs.map {
                        TokenLogprob(logprob: $0.logprob ?? 0, topTokenIDs: $0.top.map(\.id), topLogprobs: $0.top.map(\.logprob))
                    })
    }
}

extension GenerationRequest {
    /// The engine's request for a gateway's `wire` request. `topLogprobs` and every other field is passed as sent:
    /// the engine's validator (`RequestLimits`) refuses what is out of range.
    init(_ wire: WireProtocol.GenerateRequest, id: UInt64, eosTokenIDs: [Int32]) {
        self.init(id: id, promptTokens: wire.promptTokenIDs, maxTokens: Int(wire.maxTokens),
                  sampling: SamplingParameters(temperature: wire.temperature, topK: Int(wire.topK), topP: wire.topP, seed: wire.seed,
                                               presencePenalty: wire.presencePenalty, frequencyPenalty: wire.frequencyPenalty,
                                               topLogprobs: wire.topLogprobs.map { Int($0) }),
                  stopTokenIDs: Set(wire.stopTokenIDs).union(wire.ignoreEOS ? [] : eosTokenIDs))
    }
}

extension FinishReason {
    /// The wire encoding of a finish reason.
    var wire: WireProtocol.FinishReason {
        switch self {
        case .stop: return .stop
        case .length: return .length
        case .cancelled: return .cancelled
        }
    }
}
