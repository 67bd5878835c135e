import Foundation
import Kernels
import ModelFormats

/// The decoder forward pass on the CPU, readable top to bottom like llama2.c's `forward`: embedding, then per
/// layer RMSNorm → fused QKV GEMM (+ biases) → per-head q/k norms → RoPE → paged attention → output GEMM
/// (→ norm) + residual → RMSNorm → fused gate/up GEMM → gated activation → down GEMM (or the routed experts'
/// MLPs) (→ norm) + residual, then the final norm, the LM head for the rows asked for, and any logit soft-cap.
/// One pass serves every family: what a family adds (biases, q/k norms, Gemma's norms after attention and MLP,
/// GeGLU, embedding scale, soft-caps, sliding-window layers with their own RoPE, mixture-of-experts MLPs) is data
/// in `ModelConfig` and `LayerWeights`, read here as optional steps. All tokens of a step go through each linear
/// layer as one GEMM; only attention is per sequence.
///
/// Every linear layer goes through `LinearWeight.apply`, so the same code runs fp32 weights (packed once at load,
/// see `PackedMatrix`), fp8 weights (decoded inside the multiply, never as a whole: see `FP8Linear`) and GGUF
/// block-quantised weights (computed on as integers, read from the mapped file: see `QuantizedMatrix`).
///
/// Not thread-safe: one engine thread calls `forward`, which reuses its scratch buffers (activations) between
/// calls.
public final class DecoderModel: @unchecked Sendable {
    public let config: ModelConfig
    let weights: DecoderWeights
    /// Bytes of the checkpoint's files (for memory reports).
    public let checkpointBytes: Int
    /// Each layer's RoPE and attention scores (window, scale, soft-cap).
    private let ropes: [RotaryEmbedding]
    private let scoreRules: [PagedAttention.ScoreRule]
    private let activation: Activation
    private var scratch = Scratch(tokens: 0, dims: nil)
    /// Queries per unit of attention work: enough to amortise handing a slice to a core, few enough that a
    /// 256-token prefill chunk yields 16 slices to balance (later queries of a causal chunk cost more).
    static let attentionSliceQueries = 16

    /// Loads the weights from `checkpoint`, the linear layers in `precision` (see `WeightPrecision`).
    /// With `shard`, only that rank's slices of the linear layers are loaded (see `TensorParallelShard`); such a
    /// model runs through `forward(_:cache:allReduce:)`.
    public init(checkpoint: ModelCheckpoint, precision: WeightPrecision = .fp32, shard: TensorParallelShard? = nil) throws {
        let c = checkpoint.config
        config = c
        checkpointBytes = checkpoint.fileBytes
        weights = try DecoderWeights(checkpoint: checkpoint, precision: precision, shard: shard)
        ropes = c.layers.map { RotaryEmbedding(inverseFrequencies: $0.ropeScaling.inverseFrequencies(headDim: c.headDim, theta: $0.ropeTheta)) }
        scoreRules = c.layers.map { PagedAttention.ScoreRule(scale: c.attentionScale, softCap: c.attentionSoftCap, window: $0.window) }
        activation = switch c.activation {
        case .silu: .silu
        case .geluTanh: .geluTanh
        }
    }

    /// How the linear layers' weights are held.
    public var precision: WeightPrecision { weights.precision }

    /// Bytes held by the weights (fp8: codes and scales of the linear layers, including the separate fp8 LM head
    /// of a tied model, plus the float32 embedding and norms; quantised: the encoded rows, mapped or owned).
    public var weightBytes: Int { weights.bytes }

    /// Weight bytes a decode step streams from memory: all layers and the LM head, one embedding row.
    public var weightBytesReadPerStep: Int { weights.bytesReadPerStep }

    /// Runs `batch` through the model, writing its keys and values into `cache`, and returns the logits of the
    /// rows the batch asked for: `batch.logitRows.count × vocabSize` floats, row by row.
    public func forward(_ batch: ForwardBatch, cache: KVCache) -> [Float] {
        precondition(shard.isWhole, "a tensor-parallel shard runs through forward(_:cache:allReduce:)")
        return try! forward(batch, cache: cache, allReduce: nil)
    }

    /// The part of the model this instance holds.
    public var shard: TensorParallelShard { weights.shard }

    /// The forward pass of one tensor-parallel rank: the same steps with this rank's heads and intermediate rows;
    /// the attention-output and down projections produce partial sums that `allReduce` adds up across ranks
    /// before they join the residual stream (every rank then adds the same bits, so the residual streams stay
    /// identical). Returns the logits on rank 0 and nothing on the other ranks (they skip the LM head). Throws
    /// what `allReduce` throws (the group failed).
    public func forward(_ batch: ForwardBatch, cache: KVCache,
                        allReduce: ((UnsafeMutableBufferPointer<Float>) throws(TensorParallelError) -> Void)?) throws(TensorParallelError) -> [Float] {
        let c = config
        let s = shard
        let n = batch.tokens.count
        precondition(n > 0, "empty batch")
        precondition(s.isWhole || allReduce != nil, "a tensor-parallel shard needs an all-reduce")
        let dims = Scratch.Dimensions(hidden: c.hiddenSize, query: s.queryDim, kv: s.kvDim, intermediate: s.intermediateSize,
                                      experts: c.experts?.expertCount ?? 0)
        if scratch.tokens < n { scratch = Scratch(tokens: max(n, 2 * scratch.tokens), dims: dims) }
        let x = scratch.residual.pointer, xb = scratch.normed.pointer, qkv = scratch.qkv.pointer
        let attention = scratch.attention.pointer, partial = scratch.partial.pointer
        let h = c.hiddenSize, queryDim = s.queryDim, kvDim = s.kvDim, qkvWidth = queryDim + 2 * kvDim
        let headCount = s.headCount, kvHeadCount = s.kvHeadCount, headDim = c.headDim
        /// `x += norm(Σ_ranks partial)`: a branch's output joins the residual stream, summed across the ranks of
        /// a shard and normalised first where the family says so (Gemma).
        func addBranch(postNorm: FloatBuffer?) throws(TensorParallelError) {
            if let allReduce { try allReduce(UnsafeMutableBufferPointer(start: partial, count: n * h)) }
            if let postNorm { RMSNorm.apply(partial, weight: postNorm.pointer, rows: n, width: h, eps: c.rmsNormEps, into: partial) }
            VectorMath.add(x, partial, count: n * h)
        }
        /// `x += norm(W·input)`: accumulated straight into the residual stream when there is nothing in between.
        func addProjection(_ weight: LinearWeight, _ input: UnsafePointer<Float>, postNorm: FloatBuffer?) throws(TensorParallelError) {
            if allReduce == nil && postNorm == nil { return weight.apply(input, rows: n, into: x, accumulate: true) }
            weight.apply(input, rows: n, into: partial)
            try addBranch(postNorm: postNorm)
        }

        for (row, token) in batch.tokens.enumerated() {
            precondition(token >= 0 && Int(token) < c.vocabSize, "token id \(token) outside the vocabulary")
            weights.embedding.copyRow(Int(token), width: h, into: x + row * h)
            if c.embeddingScale != 1 { for i in 0..<h { x[row * h + i] *= c.embeddingScale } }
        }

        let attentionSlices = batch.attentionSlices(maxQueries: Self.attentionSliceQueries)
        for (l, layer) in weights.layers.enumerated() {
            // Attention block.
            RMSNorm.apply(x, weight: layer.attentionNorm.pointer, rows: n, width: h, eps: c.rmsNormEps, into: xb)
            layer.qkv.apply(xb, rows: n, into: qkv)
            // Sequences are independent here (each writes only its own, unshared blocks and output rows), so
            // their biases, q/k norms, RoPE and cache writes run on all cores, and then their attention, slice by
            // slice.
            let rope = ropes[l]
            ParallelLoop.run(batch.chunks.count) { index in
                let chunk = batch.chunks[index]
                chunk.blockTable.withUnsafeBufferPointer { table in
                    for i in 0..<chunk.tokenCount {
                        let row = qkv + (chunk.tokenOffset + i) * qkvWidth
                        if let bias = layer.qkvBias { VectorMath.add(row, bias.pointer, count: qkvWidth) }
                        if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
                            RMSNorm.apply(row, weight: queryNorm.pointer, rows: headCount, width: headDim, eps: c.rmsNormEps, into: row)
                            RMSNorm.apply(row + queryDim, weight: keyNorm.pointer, rows: kvHeadCount, width: headDim, eps: c.rmsNormEps,
                                          into: row + queryDim)
                        }
                        rope.apply(row, heads: headCount, position: chunk.firstPosition + i)
                        rope.apply(row + queryDim, heads: kvHeadCount, position: chunk.firstPosition + i)
                    }
                    let first = qkv + chunk.tokenOffset * qkvWidth
                    cache.layout.store(keys: first + queryDim, values: first + queryDim + kvDim, sourceStride: qkvWidth,
                                       count: chunk.tokenCount, firstPosition: chunk.firstPosition, blockTable: table.baseAddress!,
                                       keyPool: cache.keys[l], valuePool: cache.values[l])
                }
            }
            let rule = scoreRules[l]
            ParallelLoop.run(attentionSlices.count) { index in
                let slice = attentionSlices[index], chunk = batch.chunks[slice.chunk]
                let row = chunk.tokenOffset + slice.queries.lowerBound
                chunk.blockTable.withUnsafeBufferPointer { table in
                    PagedAttention.run(query: qkv + row * qkvWidth, queryStride: qkvWidth, queryCount: slice.queries.count,
                                       firstPosition: chunk.firstPosition + slice.queries.lowerBound, headCount: headCount,
                                       layout: cache.layout, keyPool: cache.keys[l], valuePool: cache.values[l],
                                       blockTable: table.baseAddress!, scores: rule,
                                       output: attention + row * queryDim, outputStride: queryDim)
                }
            }
            try addProjection(layer.attentionOutput, attention, postNorm: layer.attentionPostNorm)

            // MLP block.
            RMSNorm.apply(x, weight: layer.mlpNorm.pointer, rows: n, width: h, eps: c.rmsNormEps, into: xb)
            switch layer.mlp {
            case .dense(let mlp):
                try addProjection(mlp.down, gatedActivation(mlp, xb, rows: n), postNorm: layer.mlpPostNorm)
            case .mixture(let router, let experts):
                mixtureOfExperts(router: router, experts: experts, input: xb, rows: n, into: partial)
                try addBranch(postNorm: layer.mlpPostNorm)
            }
        }

        // Final norm and LM head, only for the rows whose logits are wanted.
        let rows = batch.logitRows.count
        guard rows > 0, s.rank == 0 else { return [] }
        for (i, row) in batch.logitRows.enumerated() {
            RMSNorm.apply(x + row * h, weight: weights.finalNorm.pointer, rows: 1, width: h, eps: c.rmsNormEps, into: xb + i * h)
        }
        return [Float](unsafeUninitializedCapacity: rows * c.vocabSize) { logits, initialized in
            weights.lmHead.apply(xb, rows: rows, into: logits.baseAddress!)
            if let cap = c.finalLogitSoftCap { SoftCap.apply(logits.baseAddress!, count: rows * c.vocabSize, cap: cap) }
            initialized = rows * c.vocabSize
        }
    }

    /// `act(gate · input) * (up · input)` for `rows` rows of `input`: the MLP's hidden activations (in scratch).
    private func gatedActivation(_ mlp: GatedMLPWeights, _ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        let width = shard.intermediateSize, gateUp = scratch.gateUp.pointer, hidden = scratch.mlp.pointer
        mlp.gateUp.apply(input, rows: rows, into: gateUp)
        activation.apply(gateUp: gateUp, rows: rows, width: width, into: hidden)
        return hidden
    }

    /// A sparse mixture of experts (Mixtral): per token, a softmax over the router's logits, the top
    /// `expertsPerToken` experts, their probabilities renormalised to sum to 1; then each expert runs once on all
    /// the tokens routed to it (one GEMM per weight for the group), and `out` (zeroed first) receives each token's
    /// weighted sum, expert by expert as transformers adds them.
    private func mixtureOfExperts(router: LinearWeight, experts: [GatedMLPWeights], input: UnsafePointer<Float>, rows n: Int,
                                  into out: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize, expertCount = experts.count, k = config.experts!.expertsPerToken
        let logits = scratch.routerLogits.pointer, gathered = scratch.expertInput.pointer, expertOut = scratch.expertOutput.pointer
        router.apply(input, rows: n, into: logits)
        var routed = [[(row: Int, weight: Float)]](repeating: [], count: expertCount)
        for row in 0..<n {
            let scores = UnsafeBufferPointer(start: logits + row * expertCount, count: expertCount)
            let largest = scores.max()!
            let probabilities = scores.map { Float(exp(Double($0 - largest))) }
            let total = probabilities.reduce(0, +)
            let chosen = (0..<expertCount).sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }.prefix(k)
            let chosenMass = chosen.reduce(Float(0)) { $0 + probabilities[$1] / total }
            for e in chosen { routed[e].append((row, probabilities[e] / total / chosenMass)) }
        }
        out.update(repeating: 0, count: n * h)
        for (e, tokens) in routed.enumerated() where !tokens.isEmpty {
            for (i, token) in tokens.enumerated() { (gathered + i * h).update(from: input + token.row * h, count: h) }
            experts[e].down.apply(gatedActivation(experts[e], gathered, rows: tokens.count), rows: tokens.count, into: expertOut)
            for (i, token) in tokens.enumerated() {
                let source = expertOut + i * h, destination = out + token.row * h
                for j in 0..<h { destination[j] += token.weight * source[j] }
            }
        }
    }

    /// Activation buffers for up to `tokens` tokens per step, grown when a larger step arrives.
    private struct Scratch {
        let tokens: Int
        let residual, normed, qkv, attention, gateUp, mlp, partial: FloatBuffer
        /// Mixture of experts: router logits, the rows routed to one expert, and that expert's output.
        let routerLogits, expertInput, expertOutput: FloatBuffer

        /// Widths of one token's activations (a shard's local query, KV and intermediate widths; experts, 0 for a
        /// dense model).
        struct Dimensions { var hidden, query, kv, intermediate, experts: Int }

        init(tokens: Int, dims: Dimensions?) {
            self.tokens = tokens
            let h = dims?.hidden ?? 0, q = dims?.query ?? 0, kv = dims?.kv ?? 0, m = dims?.intermediate ?? 0
            let experts = dims?.experts ?? 0
            partial = FloatBuffer(count: tokens * h, zeroed: false)
            residual = FloatBuffer(count: tokens * h, zeroed: false)
            normed = FloatBuffer(count: tokens * h, zeroed: false)
            qkv = FloatBuffer(count: tokens * (q + 2 * kv), zeroed: false)
            attention = FloatBuffer(count: tokens * q, zeroed: false)
            gateUp = FloatBuffer(count: tokens * 2 * m, zeroed: false)
            mlp = FloatBuffer(count: tokens * m, zeroed: false)
            routerLogits = FloatBuffer(count: tokens * experts, zeroed: false)
            expertInput = FloatBuffer(count: experts > 0 ? tokens * h : 0, zeroed: false)
            expertOutput = FloatBuffer(count: experts > 0 ? tokens * h : 0, zeroed: false)
        }
    }
}
