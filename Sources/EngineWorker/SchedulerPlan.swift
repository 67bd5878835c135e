/// What the scheduler decided for one step: which sequences compute how many of their tokens. The model runner
/// executes it without making any decisions of its own.
struct SchedulerPlan {
    struct Entry {
        let sequence: SequenceState
        /// Index of the first token to compute (== the sequence's computed count at planning time).
        let start: Int
        let count: Int
        /// Whether this chunk completes the sequence's known tokens, so a new token is sampled from its logits.
        var samples: Bool { start + count == sequence.tokens.count }
    }

    var entries: [Entry] = []
    /// Sequences preempted while planning (their blocks were freed; they will be recomputed).
    var preempted: [SequenceState] = []

    var tokenCount: Int { entries.reduce(0) { $0 + $1.count } }
    var isEmpty: Bool { entries.isEmpty }
}
