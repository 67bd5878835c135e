import Kernels
import ModelFormats

/// The Llama forward pass on the CPU, readable top to bottom like llama2.c's `forward`: embedding, then per
/// layer RMSNorm → fused QKV GEMM → RoPE → paged attention → output GEMM (+ residual) → RMSNorm → fused
/// gate/up GEMM → SwiGLU → down GEMM (+ residual), then the final norm and the LM head for the rows asked for.
/// All tokens of a step go through each linear layer as one GEMM; only attention is per sequence.
///
/// Every linear layer goes through `LinearWeight.apply`, so the same code runs fp32 weights (packed once at load,
/// see `PackedMatrix`), fp8 weights (decoded inside the multiply, never as a whole: see `FP8Linear`) and GGUF
/// block-quantised weights (computed on as integers, read from the mapped file: see `QuantizedMatrix`).
///
/// Not thread-safe: one engine thread calls `forward`, which reuses its scratch buffers (activations) between
/// calls.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    let weights: LlamaWeights
    /// Bytes of the checkpoint's files (for memory reports).
    public let checkpointBytes: Int
    private let rope: RotaryEmbedding
    private var scratch = Scratch(tokens: 0, dims: nil)
    /// Queries per unit of attention work: enough to amortise handing a slice to a core, few enough that a
    /// 256-token prefill chunk yields 16 slices to balance (later queries of a causal chunk cost more).
    static let attentionSliceQueries = 16

    /// Loads the weights from `checkpoint`, the linear layers in `precision` (see `WeightPrecision`).
    /// With `shard`, only that rank's slices of the linear layers are loaded (see `TensorParallelShard`); such a
    /// model runs through `forward(_:cache:allReduce:)`.
    public init(checkpoint: ModelCheckpoint, precision: WeightPrecision = .fp32, shard: TensorParallelShard? = nil) throws {
        config = checkpoint.config
        checkpointBytes = checkpoint.fileBytes
        weights = try LlamaWeights(checkpoint: checkpoint, precision: precision, shard: shard)
        rope = RotaryEmbedding(headDim: config.headDim, theta: config.ropeTheta, linearScaling: config.ropeLinearScaling)
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
        let dims = Scratch.Dimensions(hidden: c.hiddenSize, query: s.queryDim, kv: s.kvDim, intermediate: s.intermediateSize)
        if scratch.tokens < n { scratch = Scratch(tokens: max(n, 2 * scratch.tokens), dims: dims) }
        let x = scratch.residual.pointer, xb = scratch.normed.pointer, qkv = scratch.qkv.pointer
        let attention = scratch.attention.pointer, gateUp = scratch.gateUp.pointer, hidden = scratch.mlp.pointer
        let h = c.hiddenSize, queryDim = s.queryDim, kvDim = s.kvDim, qkvWidth = queryDim + 2 * kvDim
        let headCount = s.headCount, kvHeadCount = s.kvHeadCount
        /// `x += W·input`: directly for the whole model, through a reduced partial sum on a shard.
        func addProjection(_ weight: LinearWeight, _ input: UnsafePointer<Float>) throws(TensorParallelError) {
            guard let allReduce else { return weight.apply(input, rows: n, into: x, accumulate: true) }
            let partial = scratch.partial.pointer
            weight.apply(input, rows: n, into: partial)
            try allReduce(UnsafeMutableBufferPointer(start: partial, count: n * h))
            for i in 0..<(n * h) { x[i] += partial[i] }
        }

        for (row, token) in batch.tokens.enumerated() {
            precondition(token >= 0 && Int(token) < c.vocabSize, "token id \(token) outside the vocabulary")
            weights.embedding.copyRow(Int(token), width: h, into: x + row * h)
        }

        let attentionSlices = batch.attentionSlices(maxQueries: Self.attentionSliceQueries)
        for (l, layer) in weights.layers.enumerated() {
            // Attention block.
            RMSNorm.apply(x, weight: layer.attentionNorm.pointer, rows: n, width: h, eps: c.rmsNormEps, into: xb)
            layer.qkv.apply(xb, rows: n, into: qkv)
            // Sequences are independent here (each writes only its own, unshared blocks and output rows), so
            // their RoPE and cache writes run on all cores, and then their attention, slice by slice.
            ParallelLoop.run(batch.chunks.count) { index in
                let chunk = batch.chunks[index]
                chunk.blockTable.withUnsafeBufferPointer { table in
                    for i in 0..<chunk.tokenCount {
                        let row = qkv + (chunk.tokenOffset + i) * qkvWidth
                        rope.apply(row, heads: headCount, position: chunk.firstPosition + i)
                        rope.apply(row + queryDim, heads: kvHeadCount, position: chunk.firstPosition + i)
                    }
                    let first = qkv + chunk.tokenOffset * qkvWidth
                    cache.layout.store(keys: first + queryDim, values: first + queryDim + kvDim, sourceStride: qkvWidth,
                                       count: chunk.tokenCount, firstPosition: chunk.firstPosition, blockTable: table.baseAddress!,
                                       keyPool: cache.keys[l], valuePool: cache.values[l])
                }
            }
            ParallelLoop.run(attentionSlices.count) { index in
                let slice = attentionSlices[index], chunk = batch.chunks[slice.chunk]
                let row = chunk.tokenOffset + slice.queries.lowerBound
                chunk.blockTable.withUnsafeBufferPointer { table in
                    PagedAttention.run(query: qkv + row * qkvWidth, queryStride: qkvWidth, queryCount: slice.queries.count,
                                       firstPosition: chunk.firstPosition + slice.queries.lowerBound, headCount: headCount,
                                       layout: cache.layout, keyPool: cache.keys[l], valuePool: cache.values[l],
                                       blockTable: table.baseAddress!,
                                       output: attention + row * queryDim, outputStride: queryDim)
                }
            }
            try addProjection(layer.attentionOutput, attention)

            // MLP block.
            RMSNorm.apply(x, weight: layer.mlpNorm.pointer, rows: n, width: h, eps: c.rmsNormEps, into: xb)
            layer.gateUp.apply(xb, rows: n, into: gateUp)
            SwiGLU.apply(gateUp: gateUp, rows: n, width: s.intermediateSize, into: hidden)
            try addProjection(layer.down, hidden)
        }

        // Final norm and LM head, only for the rows whose logits are wanted.
        let rows = batch.logitRows.count
        guard rows > 0, s.rank == 0 else { return [] }
        for (i, row) in batch.logitRows.enumerated() {
            RMSNorm.apply(x + row * h, weight: weights.finalNorm.pointer, rows: 1, width: h, eps: c.rmsNormEps, into: xb + i * h)
        }
        return [Float](unsafeUninitializedCapacity: rows * c.vocabSize) { logits, initialized in
            weights.lmHead.apply(xb, rows: rows, into: logits.baseAddress!)
            initialized = rows * c.vocabSize
        }
    }

    /// Activation buffers for up to `tokens` tokens per step, grown when a larger step arrives.
    private struct Scratch {
        let tokens: Int
        let residual, normed, qkv, attention, gateUp, mlp, partial: FloatBuffer

        /// Widths of one token's activations (a shard's local query, KV and intermediate widths).
        struct Dimensions { var hidden, query, kv, intermediate: Int }

        init(tokens: Int, dims: Dimensions?) {
            self.tokens = tokens
            let h = dims?.hidden ?? 0, q = dims?.query ?? 0, kv = dims?.kv ?? 0, m = dims?.intermediate ?? 0
            partial = FloatBuffer(count: tokens * h, zeroed: false)
            residual = FloatBuffer(count: tokens * h, zeroed: false)
            normed = FloatBuffer(count: tokens * h, zeroed: false)
            qkv = FloatBuffer(count: tokens * (q + 2 * kv), zeroed: false)
            attention = FloatBuffer(count: tokens * q, zeroed: false)
            gateUp = FloatBuffer(count: tokens * 2 * m, zeroed: false)
            mlp = FloatBuffer(count: tokens * m, zeroed: false)
        }
    }
}
