import Kernels
import ModelFormats

/// The weights of one decoder layer, fused where that saves GEMM calls: Q, K and V are stacked into one matrix
/// (one GEMM per layer instead of three) and so are gate and up.
struct LayerWeights: @unchecked Sendable {
    let attentionNorm: FloatBuffer    // hidden
    let qkv: LinearWeight             // (queryDim + 2·kvDim) × hidden
    let attentionOutput: LinearWeight // hidden × queryDim
    let mlpNorm: FloatBuffer          // hidden
    let gateUp: LinearWeight          // 2·intermediate × hidden
    let down: LinearWeight            // hidden × intermediate

    var bytes: Int { attentionNorm.bytes + qkv.bytes + attentionOutput.bytes + mlpNorm.bytes + gateUp.bytes + down.bytes }
    /// Bytes a forward step reads once whatever its size: every weight of the layer.
    var linearBytes: Int { qkv.bytes + attentionOutput.bytes + gateUp.bytes + down.bytes }
}

/// All weights of a Llama model in HuggingFace layout, decoded once at load from whatever the checkpoint stores
/// (f32/f16/bf16 safetensors or quantised GGUF): float32 embedding and norms; linear layers in float32 or, with
/// `.fp8`, quantised to E4M3 tensor by tensor (each decoded to a temporary float32 buffer that is freed before the
/// next, so the model never exists as a whole in float32).
struct LlamaWeights: @unchecked Sendable {
    let precision: WeightPrecision
    /// The token lookup table (vocab × hidden): float32 rows, or the rows of the packed fp32 LM head it is tied to.
    let embedding: TokenEmbedding
    let finalNorm: FloatBuffer
    /// The LM head. In fp32 with tied embeddings it is the embedding itself, packed; in fp8 it is always its own
    /// quantised matrix (for a tied model, quantised from the float32 embedding rows, which are kept for lookup).
    let lmHead: LinearWeight
    let layers: [LayerWeights]

    /// The part of the model these weights hold (the whole model unless tensor-parallel).
    let shard: TensorParallelShard

    init(checkpoint: ModelCheckpoint, precision: WeightPrecision = .fp32, shard: TensorParallelShard? = nil) throws {
        let c = checkpoint.config
        self.precision = precision
        let shard = shard ?? .whole(c)
        self.shard = shard
        func load(_ parts: [WeightName]) throws -> FloatBuffer {
            let sizes = parts.map { checkpoint.expectedShape($0).reduce(1, *) }
            let buffer = FloatBuffer(count: sizes.reduce(0, +), zeroed: false)
            var offset = 0
            for (part, size) in zip(parts, sizes) {
                try checkpoint.decode(part, into: buffer.pointer + offset)
                offset += size
            }
            return buffer
        }
        /// The rows of `parts` stacked into one linear weight.
        func linear(_ parts: [WeightName]) throws -> LinearWeight {
            let shapes = parts.map { checkpoint.expectedShape($0) }
            let outputs = shapes.reduce(0) { $0 + $1[0] }, inputs = shapes[0][1]
            precondition(shapes.allSatisfy { $0[1] == inputs }, "stacked weights must have the same width")
            switch precision {
            case .fp32:
                return LinearWeight(fp32: try load(parts), outputs: outputs, inputs: inputs)
            case .fp8:
                let matrix = FP8Matrix(rows: outputs, columns: inputs)
                var row = 0
                for (part, shape) in zip(parts, shapes) {
                    // One tensor at a time in float32, freed at the end of the iteration.
                    let temporary = FloatBuffer(count: shape[0] * shape[1], zeroed: false)
                    try checkpoint.decode(part, into: temporary.pointer)
                    withExtendedLifetime(temporary) { matrix.quantizeRows(row..<(row + shape[0]), from: temporary.pointer) }
                    row += shape[0]
                }
                return LinearWeight(fp8: matrix)
            }
        }
        /// A tensor-parallel slice: the given rows of each part stacked (nil: all rows), restricted to `columns`
        /// (nil: all). Rows are decoded straight from the (memory-mapped) checkpoint; a column slice decodes one
        /// whole row at a time into a transient row buffer. The slice is assembled in float32 (it is 1/size of
        /// the tensor), then quantised for fp8.
        func sliced(_ parts: [(WeightName, rows: Range<Int>?)], columns: Range<Int>? = nil) throws -> LinearWeight {
            let shapes = parts.map { checkpoint.expectedShape($0.0) }
            let width = shapes[0][1]
            let rowRanges = zip(parts, shapes).map { $0.rows ?? 0..<$1[0] }
            let outputs = rowRanges.reduce(0) { $0 + $1.count }, inputs = columns?.count ?? width
            let buffer = FloatBuffer(count: outputs * inputs, zeroed: false)
            var row = 0
            for ((part, _), rows) in zip(parts, rowRanges) {
                if let columns {
                    let full = FloatBuffer(count: width, zeroed: false)
                    for r in rows {
                        try checkpoint.decode(part, rows: r..<(r + 1), into: full.pointer)
                        (buffer.pointer + row * inputs).update(from: full.pointer + columns.lowerBound, count: inputs)
                        row += 1
                    }
                } else {
                    try checkpoint.decode(part, rows: rows, into: buffer.pointer + row * inputs)
                    row += rows.count
                }
            }
            switch precision {
            case .fp32: return LinearWeight(fp32: buffer, outputs: outputs, inputs: inputs)
            case .fp8:
                return withExtendedLifetime(buffer) {
                    LinearWeight(fp8: FP8Matrix(rows: outputs, columns: inputs, values: buffer.pointer))
                }
            }
        }
        let embeddingRows = try load([.tokenEmbedding])
        finalNorm = try load([.finalNorm])
        switch (precision, c.tieWordEmbeddings) {
        case (.fp32, true):
            lmHead = LinearWeight(fp32: embeddingRows, outputs: c.vocabSize, inputs: c.hiddenSize)
            embedding = .packedLMHead(lmHead.packedMatrix!)   // the float32 rows are freed here
        case (.fp8, true):
            lmHead = LinearWeight(fp8: FP8Matrix(rows: c.vocabSize, columns: c.hiddenSize, values: embeddingRows.pointer))
            embedding = .rows(embeddingRows)
        case (_, false):
            lmHead = try linear([.lmHead])
            embedding = .rows(embeddingRows)
        }
        if !shard.isWhole {
            layers = try (0..<c.layerCount).map { l in
                LayerWeights(attentionNorm: try load([.attentionNorm(layer: l)]),
                             qkv: try sliced([(.query(layer: l), shard.queryRows), (.key(layer: l), shard.kvRows),
                                              (.value(layer: l), shard.kvRows)]),
                             attentionOutput: try sliced([(.attentionOutput(layer: l), nil)], columns: shard.queryRows),
                             mlpNorm: try load([.mlpNorm(layer: l)]),
                             gateUp: try sliced([(.gate(layer: l), shard.intermediateRows), (.up(layer: l), shard.intermediateRows)]),
                             down: try sliced([(.down(layer: l), nil)], columns: shard.intermediateRows))
            }
            return
        }
        layers = try (0..<c.layerCount).map { l in
            LayerWeights(attentionNorm: try load([.attentionNorm(layer: l)]),
                         qkv: try linear([.query(layer: l), .key(layer: l), .value(layer: l)]),
                         attentionOutput: try linear([.attentionOutput(layer: l)]),
                         mlpNorm: try load([.mlpNorm(layer: l)]),
                         gateUp: try linear([.gate(layer: l), .up(layer: l)]),
                         down: try linear([.down(layer: l)]))
        }
    }

    /// Bytes of weight memory actually held (a shared embedding and head counted once).
    var bytes: Int {
        embedding.bytes + finalNorm.bytes + lmHead.bytes + layers.reduce(0) { $0 + $1.bytes }
    }

    /// Weight bytes one decode step streams from memory: every layer's weights, the final norm and the whole LM
    /// head (but only one embedding row per token).
    var bytesReadPerStep: Int {
        finalNorm.bytes + lmHead.bytes + layers.reduce(0) { $0 + $1.bytes }
    }
}
