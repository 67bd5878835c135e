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

/// All weights of a Llama model in HuggingFace layout, in the storage `precision` asks for: float32 norms; linear
/// layers (and a quantised embedding table) either kept in the checkpoint's GGUF block encoding (`.auto`, read
/// straight from the mapped file), or decoded from whatever the checkpoint stores (f32/f16/bf16 safetensors or
/// GGUF blocks) and held as float32, E4M3 or re-quantised Q8_0/Q4_0 blocks. A decoded float32 copy exists only
/// for one stacked weight at a time, so the model never exists as a whole in float32 unless it is held so.
struct LlamaWeights: @unchecked Sendable {
    let precision: WeightPrecision
    /// The token lookup table (vocab × hidden): float32 rows, the rows of the packed fp32 LM head it is tied to, or
    /// a quantised table.
    let embedding: TokenEmbedding
    let finalNorm: FloatBuffer
    /// The LM head; with tied embeddings the embedding's own matrix where the storage allows (packed fp32, a
    /// quantised table), else its own matrix built from the embedding rows.
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
        /// The stored rows of `parts` as one quantised matrix, or nil when a part is not block-quantised or a
        /// column slice cuts through its blocks (such a weight is held as float32 instead).
        func storedMatrix(_ parts: [(WeightName, rows: Range<Int>?)], columns: Range<Int>?) throws -> QuantizedMatrix? {
            var rows: [QuantizedMatrix.Row] = [], files: [AnyObject] = [], width = 0
            for (part, partRows) in parts {
                guard try checkpoint.tensor(part).type.isQuantized,
                      let stored = try? checkpoint.storedRows(part, rows: partRows, columns: columns) else { return nil }
                rows += stored.pointers.map { QuantizedMatrix.Row(pointer: $0, ggmlType: stored.type.ggmlType) }
                files.append(stored.file)
                width = stored.columns
            }
            return QuantizedMatrix(rows: rows, columns: width, owners: files)
        }
        /// The rows of `parts` (each restricted to its row range, all rows when nil) stacked and restricted to
        /// `columns` (all when nil), decoded to float32: `outputs × inputs` floats. Rows are decoded straight
        /// from the (memory-mapped) checkpoint; a column slice decodes one whole row at a time.
        func floatRows(_ parts: [(WeightName, rows: Range<Int>?)], columns: Range<Int>?) throws -> (FloatBuffer, outputs: Int, inputs: Int) {
            let shapes = parts.map { checkpoint.expectedShape($0.0) }
            let width = shapes[0][1]
            precondition(shapes.allSatisfy { $0[1] == width }, "stacked weights must have the same width")
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
            return (buffer, outputs, inputs)
        }
        /// Float32 rows held as `precision` says (rows that are not whole blocks of 32 cannot be quantised into
        /// GGUF blocks and stay float32, as llama.cpp's quantiser falls back for such tensors too).
        func held(_ values: FloatBuffer, outputs: Int, inputs: Int) -> LinearWeight {
            withExtendedLifetime(values) {
                switch precision {
                case .auto, .fp32: return LinearWeight(fp32: values, outputs: outputs, inputs: inputs)
                case .q8_0 where inputs % 32 != 0, .q4_0 where inputs % 32 != 0:
                    return LinearWeight(fp32: values, outputs: outputs, inputs: inputs)
                case .fp8: return LinearWeight(fp8: FP8Matrix(rows: outputs, columns: inputs, values: values.pointer))
                case .q8_0, .q4_0:
                    return LinearWeight(quantized: QuantizedMatrix(quantizing: values.pointer, rows: outputs, columns: inputs,
                                                                   ggmlType: precision.quantizedType!))
                }
            }
        }
        /// One linear weight: `parts` stacked (a tensor-parallel slice: the given rows of each part, restricted
        /// to `columns`).
        func linear(_ parts: [(WeightName, rows: Range<Int>?)], columns: Range<Int>? = nil) throws -> LinearWeight {
            if precision == .auto, let matrix = try storedMatrix(parts, columns: columns) { return LinearWeight(quantized: matrix) }
            let (values, outputs, inputs) = try floatRows(parts, columns: columns)
            return held(values, outputs: outputs, inputs: inputs)
        }

        finalNorm = try load([.finalNorm])
        if precision == .auto, let table = try storedMatrix([(.tokenEmbedding, nil)], columns: nil) {
            embedding = .quantized(table, isLMHead: c.tieWordEmbeddings)
            lmHead = c.tieWordEmbeddings ? LinearWeight(quantized: table) : try linear([(.lmHead, nil)])
        } else if !c.tieWordEmbeddings {
            embedding = .rows(try load([.tokenEmbedding]))
            lmHead = try linear([(.lmHead, nil)])
        } else {
            let embeddingRows = try load([.tokenEmbedding])
            lmHead = held(embeddingRows, outputs: c.vocabSize, inputs: c.hiddenSize)
            switch lmHead.storage {
            case .fp32(let packed): embedding = .packedLMHead(packed)   // the float32 rows are freed here
            case .quantized(let table): embedding = .quantized(table, isLMHead: true)
            case .fp8: embedding = .rows(embeddingRows)
            }
        }
        layers = try (0..<c.layerCount).map { l in
            LayerWeights(attentionNorm: try load([.attentionNorm(layer: l)]),
                         qkv: try linear([(.query(layer: l), shard.queryRows), (.key(layer: l), shard.kvRows),
                                          (.value(layer: l), shard.kvRows)]),
                         attentionOutput: try linear([(.attentionOutput(layer: l), nil)], columns: shard.isWhole ? nil : shard.queryRows),
                         mlpNorm: try load([.mlpNorm(layer: l)]),
                         gateUp: try linear([(.gate(layer: l), shard.intermediateRows), (.up(layer: l), shard.intermediateRows)]),
                         down: try linear([(.down(layer: l), nil)], columns: shard.isWhole ? nil : shard.intermediateRows))
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
