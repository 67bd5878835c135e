/// Settings that bound each engine step.
public struct SchedulerConfiguration: Sendable {
    /// Tokens computed per step at most (decode tokens plus prefill chunks).
    public var maxBatchedTokens: Int
    /// Sequences running at once at most.
    public var maxSequences: Int
    /// Sequences waiting to run at most; requests beyond it are refused as overloaded (backpressure).
    public var maxWaiting: Int

    public init(maxBatchedTokens: Int = 512, maxSequences: Int = 64, maxWaiting: Int = 256) {
        self.maxBatchedTokens = maxBatchedTokens
        self.maxSequences = maxSequences
        self.maxWaiting = maxWaiting
    }

    /// Sequences the engine accepts at once.
    public var capacity: Int { maxSequences + maxWaiting }
}

/// Iteration-level continuous batching, as in vLLM v1: every step it plans which running sequences advance
/// (decode tokens or the next chunk of a long prompt) and which waiting ones join, within a token budget and a
/// sequence limit. When KV blocks run out it preempts the most recently admitted running sequence, freeing its
/// blocks to be recomputed later, so the engine never runs out of memory or deadlocks. For a model whose layers
/// all slide (`slidingWindow`), a sequence's blocks that every window has passed are released as it advances. It
/// only plans and keeps block accounting; the model runner executes the plan.
final class Scheduler {
    let configuration: SchedulerConfiguration
    /// The window of a model whose every layer slides (see `ModelConfig.windowOfEveryLayer`), else nil.
    let slidingWindow: Int?
    private(set) var blocks: BlockManager
    private(set) var waiting: [SequenceState] = []
    /// Admission order: the last one is preempted first.
    private(set) var running: [SequenceState] = []
    /// Prompt tokens that prefill did not need to compute thanks to the prefix cache (cumulative).
    private(set) var prefixCacheHitTokens = 0
    /// Prompt tokens of the sequences admitted so far, each counted once (cumulative).
    private(set) var promptTokensAdmitted = 0

    init(configuration: SchedulerConfiguration, blocks: BlockManager, slidingWindow: Int? = nil) {
        self.configuration = configuration
        self.blocks = blocks
        self.slidingWindow = slidingWindow
    }

    var hasWork: Bool { !waiting.isEmpty || !running.isEmpty }

    func add(_ sequence: SequenceState) { waiting.append(sequence) }

    /// Removes a sequence wherever it is, freeing its blocks. Returns it if it was known.
    func remove(id: UInt64) -> SequenceState? {
        if let i = waiting.firstIndex(where: { $0.id == id }) { return waiting.remove(at: i) }
        if let i = running.firstIndex(where: { $0.id == id }) {
            let sequence = running.remove(at: i)
            freeBlocks(of: sequence)
            return sequence
        }
        return nil
    }

    /// Plans the next step.
    func schedule() -> SchedulerPlan {
        var plan = SchedulerPlan()
        var budget = configuration.maxBatchedTokens

        // Running sequences first, oldest first: decode tokens and continuing prefill chunks.
        var index = 0
        while index < running.count && budget > 0 {
            let sequence = running[index]
            let count = min(sequence.uncomputedCount, budget)
            if reserveBlocks(for: sequence, upTo: sequence.computedTokens + count, plan: &plan) {
                plan.entries.append(.init(sequence: sequence, start: sequence.computedTokens, count: count))
                budget -= count
                index += 1
            } else {
                // It preempted itself: nothing else can run; `running` no longer holds it.
                break
            }
        }

        // Then admit waiting sequences while budget, sequence slots and blocks allow (not after preempting).
        while plan.preempted.isEmpty, budget > 0, running.count < configuration.maxSequences, let sequence = waiting.first {
            if sequence.computedTokens == 0 && sequence.blockTable.isEmpty { claimCachedPrefix(for: sequence) }
            let count = min(sequence.uncomputedCount, budget)
            guard let fresh = blocks.allocate(blocksNeeded(sequence, upTo: sequence.computedTokens + count)) else {
                // A waiting sequence holds no blocks, so that it can never pin what running ones need.
                freeBlocks(of: sequence)
                break
            }
            sequence.blockTable += fresh
            waiting.removeFirst()
            sequence.status = .running
            countFirstAdmission(of: sequence)
            running.append(sequence)
            plan.entries.append(.init(sequence: sequence, start: sequence.computedTokens, count: count))
            budget -= count
        }
        return plan
    }

    /// After the runner computed `plan`'s tokens: advance computed counts, register newly full blocks, and release
    /// the blocks every sliding window has passed.
    func commit(_ plan: SchedulerPlan) {
        for entry in plan.entries {
            entry.sequence.computedTokens = entry.start + entry.count
            registerFullBlocks(of: entry.sequence)
            releaseBlocksBehindWindow(of: entry.sequence)
        }
    }

    /// Ends a running sequence (stop token, length, cancel): frees its blocks.
    func finish(_ sequence: SequenceState, _ reason: FinishReason) {
        sequence.finishReason = reason
        sequence.status = .finished
        running.removeAll { $0 === sequence }
        freeBlocks(of: sequence)
    }

    // MARK: Blocks

    private func blocksNeeded(_ sequence: SequenceState, upTo tokens: Int) -> Int {
        max(0, (tokens + blocks.blockSize - 1) / blocks.blockSize - sequence.blockTable.count)
    }

    /// Gives `sequence` blocks for `tokens` tokens, preempting the most recently admitted running sequences
    /// (possibly `sequence` itself) until that is possible. False if `sequence` itself was preempted.
    private func reserveBlocks(for sequence: SequenceState, upTo tokens: Int, plan: inout SchedulerPlan) -> Bool {
        let needed = blocksNeeded(sequence, upTo: tokens)
        while true {
            if let fresh = blocks.allocate(needed) {
                sequence.blockTable += fresh
                return true
            }
            // Running sequences are planned in admission order, so the last one is never already in the plan:
            // it is one not yet visited this step, or `sequence` itself.
            let victim = running.removeLast()
            preempt(victim)
            plan.preempted.append(victim)
            if victim === sequence { return false }
        }
    }

    /// Frees a running sequence's blocks and puts it back at the head of the queue, to be recomputed.
    private func preempt(_ sequence: SequenceState) {
        freeBlocks(of: sequence)
        sequence.status = .waiting
        waiting.insert(sequence, at: 0)
    }

    private func freeBlocks(of sequence: SequenceState) {
        blocks.release(Array(sequence.blockTable[sequence.releasedBlocks...]))
        sequence.blockTable = []
        sequence.releasedBlocks = 0
        sequence.computedTokens = 0
        sequence.registeredBlocks = 0
        sequence.prefixChain = .empty
    }

    /// Reuses cached blocks for the prompt's leading full blocks. The block holding the last prompt token is
    /// always computed afresh: its logits are needed, and a shared block must never be written.
    private func claimCachedPrefix(for sequence: SequenceState) {
        let reusable = (sequence.tokens.count - 1) / blocks.blockSize
        let (cached, chain) = blocks.claimCachedPrefix(of: sequence.tokens, maxBlocks: reusable)
        sequence.blockTable = cached
        sequence.computedTokens = cached.count * blocks.blockSize
        sequence.registeredBlocks = cached.count
        sequence.prefixChain = chain
    }

    /// Counts a newly admitted sequence's prompt and prefix-cache hit, once per request: re-admissions after
    /// preemption recompute tokens that were already counted.
    private func countFirstAdmission(of sequence: SequenceState) {
        guard !sequence.wasAdmitted else { return }
        sequence.wasAdmitted = true
        prefixCacheHitTokens += sequence.computedTokens
        promptTokensAdmitted += sequence.promptCount
    }

    /// The next token to compute is at `computedTokens`, and no later query looks further back than its window:
    /// blocks wholly before `computedTokens - window + 1` are never read again. Released (registered ones stay in
    /// the prefix cache, for another prompt to reuse).
    private func releaseBlocksBehindWindow(of sequence: SequenceState) {
        guard let window = slidingWindow else { return }
        let dead = max(0, sequence.computedTokens - window + 1) / blocks.blockSize
        guard dead > sequence.releasedBlocks else { return }
        blocks.release(Array(sequence.blockTable[sequence.releasedBlocks..<dead]))
        sequence.releasedBlocks = dead
    }

    private func registerFullBlocks(of sequence: SequenceState) {
        let size = blocks.blockSize
        while (sequence.registeredBlocks + 1) * size <= sequence.computedTokens {
            let start = sequence.registeredBlocks * size
            sequence.prefixChain = blocks.register(sequence.blockTable[sequence.registeredBlocks],
                                                   tokens: sequence.tokens[start..<(start + size)], after: sequence.prefixChain)
            sequence.registeredBlocks += 1
        }
    }
}
