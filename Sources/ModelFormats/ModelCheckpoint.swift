import Foundation

/// A model as the user brings it — a HuggingFace directory (single or sharded safetensors) or one GGUF file —
/// opened, memory-mapped and validated, with its weights reachable by `WeightName` as float32 in the HuggingFace
/// layout whatever the file format. This is the one place that knows the difference between the formats.
public struct ModelCheckpoint: Sendable {
    public enum Format: Sendable {
        case huggingFace(directory: String)
        case gguf(GGUFFile)
    }

    public let path: String
    public let format: Format
    public let config: LlamaConfig
    /// Tensors by their name in the file.
    private let tensors: [String: TensorData]

    /// Opens `path`: a directory with config.json and safetensors, or a `.gguf` file.
    public init(path: String) throws(ModelFormatError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .fileNotFound(path: path) }
        self.path = path
        if isDirectory.boolValue {
            config = try LlamaConfig(huggingFaceDirectory: path)
            format = .huggingFace(directory: path)
            tensors = try Self.openSafetensors(directory: path)
        } else {
            let gguf = try GGUFFile(path: path)
            config = try LlamaConfig(gguf: gguf)
            format = .gguf(gguf)
            tensors = gguf.tensors
        }
        try checkShapes()
    }

    /// A short name for the model: the directory or file name.
    public var modelID: String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        return name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name
    }

    /// The HuggingFace-layout shape of each weight.
    public func expectedShape(_ weight: WeightName) -> [Int] {
        let c = config
        switch weight {
        case .tokenEmbedding, .lmHead: return [c.vocabSize, c.hiddenSize]
        case .finalNorm, .attentionNorm, .mlpNorm: return [c.hiddenSize]
        case .query: return [c.queryDim, c.hiddenSize]
        case .key, .value: return [c.kvDim, c.hiddenSize]
        case .attentionOutput: return [c.hiddenSize, c.queryDim]
        case .gate, .up: return [c.intermediateSize, c.hiddenSize]
        case .down: return [c.hiddenSize, c.intermediateSize]
        }
    }

    /// Every weight the forward pass needs (the LM head only when it is not tied to the embedding).
    public var requiredWeights: [WeightName] {
        var names: [WeightName] = [.tokenEmbedding, .finalNorm]
        if !config.tieWordEmbeddings { names.append(.lmHead) }
        for l in 0..<config.layerCount {
            names += [.attentionNorm(layer: l), .query(layer: l), .key(layer: l), .value(layer: l), .attentionOutput(layer: l),
                      .mlpNorm(layer: l), .gate(layer: l), .up(layer: l), .down(layer: l)]
        }
        return names
    }

    /// The stored tensor for `weight`.
    public func tensor(_ weight: WeightName) throws(ModelFormatError) -> TensorData {
        guard let t = tensors[fileName(weight)] else { throw .missingTensor(path: path, tensor: fileName(weight)) }
        return t
    }

    /// Decodes rows `rows` (all rows when nil) of `weight` to float32 in HuggingFace layout into `destination`.
    /// GGUF stores the rows of Q and K permuted for llama.cpp's interleaved RoPE; they are put back here, head by
    /// head, so that the engine sees one layout. Row ranges must then start and end on head boundaries.
    public func decode(_ weight: WeightName, rows: Range<Int>? = nil, into destination: UnsafeMutablePointer<Float>) throws(ModelFormatError) {
        let t = try tensor(weight)
        let shape = expectedShape(weight)
        guard shape.count == 2 else { t.decode(into: destination); return }
        let rows = rows ?? 0..<shape[0]
        let headCount: Int? = switch (format, weight) {
        case (.gguf, .query): config.headCount
        case (.gguf, .key): config.kvHeadCount
        default: nil
        }
        guard let headCount else { t.decodeRows(rows, into: destination); return }
        let headDim = shape[0] / headCount, half = headDim / 2, columns = shape[1]
        precondition(rows.lowerBound % headDim == 0 && rows.count % headDim == 0, "Q/K row slices must cover whole heads")
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: headDim * columns)
        defer { scratch.deallocate() }
        for (h, headStart) in stride(from: rows.lowerBound, to: rows.upperBound, by: headDim).enumerated() {
            t.decodeRows(headStart..<(headStart + headDim), into: scratch)
            // llama.cpp row 2j+i holds HuggingFace row i*half + j of the same head.
            for j in 0..<half {
                for i in 0..<2 {
                    (destination + (h * headDim + i * half + j) * columns).update(from: scratch + (2 * j + i) * columns, count: columns)
                }
            }
        }
    }

    /// Convenience: the whole weight as a float32 array in HuggingFace layout.
    public func float32(_ weight: WeightName) throws(ModelFormatError) -> [Float] {
        var values = [Float](repeating: 0, count: expectedShape(weight).reduce(1, *))
        try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelFormatError) in try decode(weight, into: buffer.baseAddress!) }
        return values
    }

    private func fileName(_ weight: WeightName) -> String {
        if case .gguf = format { return weight.ggufName }
        return weight.huggingFaceName
    }

    private func checkShapes() throws(ModelFormatError) {
        for weight in requiredWeights {
            let t = try tensor(weight)
            guard t.shape == expectedShape(weight) else {
                throw .tensorShapeMismatch(path: t.file.path, tensor: t.name, expected: expectedShape(weight), found: t.shape)
            }
        }
    }

    /// `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    private static func openSafetensors(directory: String) throws(ModelFormatError) -> [String: TensorData] {
        let indexPath = directory + "/model.safetensors.index.json"
        guard FileManager.default.fileExists(atPath: indexPath) else {
            return try SafetensorsFile(path: directory + "/model.safetensors").tensors
        }
        let index = try LlamaConfig.readJSONObject(indexPath)
        guard let weightMap = index["weight_map"] as? [String: String] else {
            throw .invalidConfig(path: indexPath, reason: "no 'weight_map' object")
        }
        var tensors: [String: TensorData] = [:]
        for shard in Set(weightMap.values).sorted() {
            guard !shard.contains("/") else { throw .invalidConfig(path: indexPath, reason: "shard name '\(shard)' is not a file name") }
            for (name, t) in try SafetensorsFile(path: directory + "/" + shard).tensors where weightMap[name] == shard {
                tensors[name] = t
            }
        }
        for name in weightMap.keys where tensors[name] == nil {
            throw .missingTensor(path: directory + "/" + weightMap[name]!, tensor: name)
        }
        return tensors
    }
}
