import Kernels
import ModelFormats

/// A gated MLP (the dense MLP of a layer, or one expert): gate and up stacked into one matrix (one GEMM instead of
/// two), and down.
struct GatedMLPWeights: @unchecked Sendable {
    let gateUp: LinearWeight   // 2·intermediate × hidden
    let down: LinearWeight     // hidden × intermediate

    var bytes: Int { gateUp.bytes + down.bytes }
}

/// A layer's MLP: one dense gated MLP, or a router and its experts (Mixtral).
enum MLPWeights: @unchecked Sendable {
    case dense(GatedMLPWeights)
    case mixture(router: LinearWeight, experts: [GatedMLPWeights])

    var bytes: Int {
        switch self {
        case .dense(let mlp): return mlp.bytes
        case .mixture(let router, let experts): return router.bytes + experts.reduce(0) { $0 + $1.bytes }
        }
    }
}

/// The weights of one decoder layer, fused where that saves GEMM calls: Q, K and V are stacked into one matrix
/// (one GEMM per layer instead of three), and so are gate and up. The optional parts are what the model's family
/// has (see `ModelConfig`): Q/K/V biases, per-head q/k norms, norms after attention and after the MLP.
struct LayerWeights: @unchecked Sendable {
    let attentionNorm: FloatBuffer      // hidden
    let qkv: LinearWeight               // (queryDim + 2·kvDim) × hidden
    let qkvBias: FloatBuffer?           // queryDim + 2·kvDim
    let queryNorm, keyNorm: FloatBuffer?   // headDim
    let attentionOutput: LinearWeight   // hidden × queryDim
    let attentionPostNorm: FloatBuffer? // hidden
    let mlpNorm: FloatBuffer            // hidden
    let mlp: MLPWeights
    let mlpPostNorm: FloatBuffer?       // hidden

    private var vectors: [FloatBuffer] {
        [attentionNorm, mlpNorm] + [qkvBias, queryNorm, keyNorm, attentionPostNorm, mlpPostNorm].compactMap { $0 }
    }
    var bytes: Int { vectors.reduce(0) { $0 + $1.bytes } + linearBytes }
    /// Bytes a forward step reads once whatever its size: every matrix of the layer (every expert's, at most).
    var linearBytes: Int { qkv.bytes + attentionOutput.bytes + mlp.bytes }
}

/// All weights of a decoder in HuggingFace layout, in the storage `precision` asks for: float32 norms; linear
/// layers (and a quantised embedding table) either kept in the checkpoint's GGUF block encoding (`.auto`, read
/// straight from the mapped file), or decoded from whatever the checkpoint stores (f32/f16/bf16 safetensors or
/// GGUF blocks) and held as float32, E4M3 or re-quantised Q8_0/Q4_0 blocks. A decoded float32 copy exists only
/// for one stacked weight at a time, so the model never exists as a whole in float32 unless it is held so.
struct DecoderWeights: @unchecked Sendable {
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
        /// Vectors (norms, biases) decoded and concatenated: each of `parts` restricted to its range (all when
        /// nil); RMSNorm weights with the checkpoint's norm offset added (Gemma's `1 + w`).
        func load(_ parts: [(WeightName, range: Range<Int>?)]) throws -> FloatBuffer {
            let ranges = parts.map { $0.range ?? 0..<checkpoint.expectedShape($0.0).reduce(1, *) }
            let buffer = FloatBuffer(count: ranges.reduce(0) { $0 + $1.count }, zeroed: false)
            var offset = 0
            for ((part, slice), range) in zip(parts, ranges) {
                let destination = buffer.pointer + offset
                if slice == nil {
                    try checkpoint.decode(part, into: destination)
                } else {
                    try checkpoint.float32(part)[range].withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: range.count) }
                }
                if part.isNorm { for i in 0..<range.count { destination[i] += c.normWeightOffset } }
                offset += range.count
            }
            return buffer
        }
        func norm(_ weight: WeightName) throws -> FloatBuffer { try load([(weight, nil)]) }
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

        finalNorm = try norm(.finalNorm)
        if precision == .auto, let table = try storedMatrix([(.tokenEmbedding, nil)], columns: nil) {
            embedding = .quantized(table, isLMHead: c.tieWordEmbeddings)
            lmHead = c.tieWordEmbeddings ? LinearWeight(quantized: table) : try linear([(.lmHead, nil)])
        } else if !c.tieWordEmbeddings {
            embedding = .rows(try load([(.tokenEmbedding, nil)]))
            lmHead = try linear([(.lmHead, nil)])
        } else {
            let embeddingRows = try load([(.tokenEmbedding, nil)])
            lmHead = held(embeddingRows, outputs: c.vocabSize, inputs: c.hiddenSize)
            switch lmHead.storage {
            case .fp32(let packed): embedding = .packedLMHead(packed)   // the float32 rows are freed here
            case .quantized(let table): embedding = .quantized(table, isLMHead: true)
            case .fp8: embedding = .rows(embeddingRows)
            }
        }
        /// A gated MLP from its gate, up and down weights, sliced to this rank's intermediate rows.
        func gatedMLP(gate: WeightName, up: WeightName, down: WeightName) throws -> GatedMLPWeights {
            GatedMLPWeights(gateUp: try linear([(gate, shard.intermediateRows), (up, shard.intermediateRows)]),
                            down: try linear([(down, nil)], columns: shard.isWhole ? nil : shard.intermediateRows))
        }
        layers = try (0..<c.layerCount).map { l in
            let mlp: MLPWeights
            if let experts = c.experts {
                mlp = .mixture(router: try linear([(.router(layer: l), nil)]), experts: try (0..<experts.expertCount).map { e in
                    try gatedMLP(gate: .expertGate(layer: l, expert: e), up: .expertUp(layer: l, expert: e), down: .expertDown(layer: l, expert: e))
                })
            } else {
                mlp = .dense(try gatedMLP(gate: .gate(layer: l), up: .up(layer: l), down: .down(layer: l)))
            }
            return LayerWeights(
                attentionNorm: try norm(.attentionNorm(layer: l)),
                qkv: try linear([(.query(layer: l), shard.queryRows), (.key(layer: l), shard.kvRows), (.value(layer: l), shard.kvRows)]),
                qkvBias: c.attentionBias
                    ? try load([(.queryBias(layer: l), shard.queryRows), (.keyBias(layer: l), shard.kvRows), (.valueBias(layer: l), shard.kvRows)])
                    : nil,
                queryNorm: c.queryKeyNorm ? try norm(.queryNorm(layer: l)) : nil,
                keyNorm: c.queryKeyNorm ? try norm(.keyNorm(layer: l)) : nil,
                attentionOutput: try linear([(.attentionOutput(layer: l), nil)], columns: shard.isWhole ? nil : shard.queryRows),
                attentionPostNorm: c.sandwichNorms ? try norm(.attentionPostNorm(layer: l)) : nil,
                mlpNorm: try norm(.mlpNorm(layer: l)),
                mlp: mlp,
                mlpPostNorm: c.sandwichNorms ? try norm(.mlpPostNorm(layer: l)) : nil)
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
