import Kernels
import LoopIO

/// Executes a scheduler plan: lays the planned chunks of all sequences into one `ForwardBatch`, runs the model
/// once, and samples a token for every sequence whose chunk reached the end of its known tokens, each with its own
/// sampler. It makes no decisions: what runs was decided by the scheduler. On rank 0 of a tensor-parallel group
/// it first publishes the batch to the other ranks, which run the same step on their shards.
struct ModelRunner {
    let model: DecoderModel
    let cache: KVCache
    var group: TensorParallelGroup? = nil

    /// Runs `plan` and returns the sampled token of each sampling sequence, in plan order, and the seconds the
    /// forward pass took. Throws only in a tensor-parallel group, when the group failed.
    func execute(_ plan: SchedulerPlan) throws(TensorParallelError)
        -> (sampled: [(sequence: SequenceState, token: SampledToken)], forwardSeconds: Double) {
        var batch = ForwardBatch()
        for entry in plan.entries {
            batch.append(tokens: entry.sequence.tokens[entry.start..<(entry.start + entry.count)], firstPosition: entry.start,
                         blockTable: entry.sequence.blockTable, wantsLogits: entry.samples)
        }
        let logits: [Float]
        let began = monotonicSeconds()
        if let group {
            try group.publish(.forward(batch))
            logits = try model.forward(batch, cache: cache, allReduce: group.allReduceSum)
        } else {
            logits = model.forward(batch, cache: cache)
        }
        let forwardSeconds = monotonicSeconds() - began
        // Each sequence samples with its own sampler (no state is shared), so the samples of a batch are spread
        // over the cores.
        let vocab = model.config.vocabSize
        let sequences = plan.entries.filter(\.samples).map(\.sequence)
        let tokens = logits.withUnsafeBufferPointer { all in
            [SampledToken](unsafeUninitializedCapacity: sequences.count) { buffer, initialized in
                let out = buffer.baseAddress!
                ParallelLoop.forEachRange(of: sequences.count, minimumPerRange: 4) { range in
                    for row in range { (out + row).initialize(to: sequences[row].sampler.next(all.baseAddress! + row * vocab, count: vocab)) }
                }
                initialized = sequences.count
            }
        }
        return (Array(zip(sequences, tokens)), forwardSeconds)
    }
}
