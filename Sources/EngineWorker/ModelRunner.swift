import Kernels

/// Executes a scheduler plan: lays the planned chunks of all sequences into one `ForwardBatch`, runs the model
/// once, and samples a token for every sequence whose chunk reached the end of its known tokens, each with its own
/// sampler. It makes no decisions: what runs was decided by the scheduler.
struct ModelRunner {
    let model: LlamaModel
    let cache: KVCache

    /// Runs `plan` and returns the sampled token of each sampling sequence, in plan order.
    func execute(_ plan: SchedulerPlan) -> [(sequence: SequenceState, token: SampledToken)] {
        var batch = ForwardBatch()
        for entry in plan.entries {
            batch.append(tokens: entry.sequence.tokens[entry.start..<(entry.start + entry.count)], firstPosition: entry.start,
                         blockTable: entry.sequence.blockTable, wantsLogits: entry.samples)
        }
        let logits = model.forward(batch, cache: cache)
        let vocab = model.config.vocabSize
        var sampled: [(SequenceState, SampledToken)] = []
        var row = 0
        logits.withUnsafeBufferPointer { all in
            for entry in plan.entries where entry.samples {
                let token = entry.sequence.sampler.next(all.baseAddress! + row * vocab, count: vocab)
                sampled.append((entry.sequence, token))
                row += 1
            }
        }
        return sampled
    }
}
