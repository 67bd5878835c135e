import ModelFormats

/// The weights of one decoder layer, fused where that saves GEMM calls: Q, K and V are stacked into one matrix
/// (one GEMM per layer instead of three) and so are gate and up.
struct LayerWeights: @unchecked Sendable {
    let attentionNorm: FloatBuffer    // hidden
    let qkv: FloatBuffer              // (queryDim + 2·kvDim) × hidden
    let attentionOutput: FloatBuffer  // hidden × queryDim
    let mlpNorm: FloatBuffer          // hidden
    let gateUp: FloatBuffer           // 2·intermediate × hidden
    let down: FloatBuffer             // hidden × intermediate
}

/// All weights of a Llama model as float32 in HuggingFace layout, decoded once at load from whatever the
/// checkpoint stores (f32/f16/bf16 safetensors or quantised GGUF).
struct LlamaWeights: @unchecked Sendable {
    let embedding: FloatBuffer        // vocab × hidden
    let finalNorm: FloatBuffer
    /// The LM head; the embedding itself when the model ties them.
    let lmHead: FloatBuffer
    let layers: [LayerWeights]

    init(checkpoint: ModelCheckpoint) throws {
        let c = checkpoint.config
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
        embedding = try load([.tokenEmbedding])
        finalNorm = try load([.finalNorm])
        lmHead = c.tieWordEmbeddings ? embedding : try load([.lmHead])
        layers = try (0..<c.layerCount).map { l in
            LayerWeights(attentionNorm: try load([.attentionNorm(layer: l)]),
                         qkv: try load([.query(layer: l), .key(layer: l), .value(layer: l)]),
                         attentionOutput: try load([.attentionOutput(layer: l)]),
                         mlpNorm: try load([.mlpNorm(layer: l)]),
                         gateUp: try load([.gate(layer: l), .up(layer: l)]),
                         down: try load([.down(layer: l)]))
        }
    }

    /// Bytes of weight memory (the tied head counted once).
    var bytes: Int {
        var total = embedding.bytes + finalNorm.bytes + (lmHead === embedding ? 0 : lmHead.bytes)
        for l in layers {
            total += l.attentionNorm.bytes + l.qkv.bytes + l.attentionOutput.bytes + l.mlpNorm.bytes + l.gateUp.bytes + l.down.bytes
        }
        return total
    }
}
