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

    /// Bytes of the files the tensors are read from (the GGUF file, or every safetensors shard).
    public var fileBytes: Int {
        var files: [ObjectIdentifier: Int] = [:]
        for tensor in tensors.values { files[ObjectIdentifier(tensor.file)] = tensor.file.size }
        return files.values.reduce(0, +)
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
    /// GGUF stores the rows of Q and K permuted for llama.cpp's interleaved RoPE; they are put back here (see
    /// `fileRow`), so that the engine sees one layout. Row ranges must then start and end on head boundaries.
    public func decode(_ weight: WeightName, rows: Range<Int>? = nil, into destination: UnsafeMutablePointer<Float>) throws(ModelFormatError) {
        let t = try tensor(weight)
        let shape = expectedShape(weight)
        guard shape.count == 2 else { t.decode(into: destination); return }
        let rows = rows ?? 0..<shape[0]
        guard isRowPermuted(weight) else { t.decodeRows(rows, into: destination); return }
        for (i, row) in rows.enumerated() {
            let source = try fileRow(weight, row)
            t.decodeRows(source..<(source + 1), into: destination + i * shape[1])
        }
    }

    /// The rows of a 2-D weight as stored, still encoded: the tensor's type and a pointer to the bytes of each of
    /// `rows` (all when nil) in HuggingFace order, each restricted to `columns` (all when nil), which must start
    /// and end on block boundaries. What a kernel computing on the file's own encoding reads.
    public func storedRows(_ weight: WeightName, rows: Range<Int>? = nil, columns: Range<Int>? = nil) throws(ModelFormatError) -> StoredRows {
        let t = try tensor(weight)
        let shape = expectedShape(weight)
        precondition(shape.count == 2, "stored rows of a 1-D weight")
        let columns = columns ?? 0..<shape[1]
        let blockElements = t.type.blockElements
        guard columns.lowerBound % blockElements == 0 && columns.count % blockElements == 0 else {
            throw .unalignedSlice(path: t.file.path, tensor: t.name, columns: columns, blockElements: blockElements)
        }
        let rowBytes = t.type.byteCount(elements: shape[1])!
        let columnOffset = columns.lowerBound / blockElements * t.type.blockBytes
        var pointers: [UnsafeRawPointer] = []
        for row in rows ?? 0..<shape[0] {
            pointers.append(t.bytes.baseAddress! + (try fileRow(weight, row)) * rowBytes + columnOffset)
        }
        return StoredRows(type: t.type, columns: columns.count, pointers: pointers, file: t.file)
    }

    /// Whether the file stores `weight`'s rows in another order than HuggingFace: Q and K of a GGUF, permuted for
    /// llama.cpp's interleaved RoPE.
    private func isRowPermuted(_ weight: WeightName) -> Bool {
        switch (format, weight) {
        case (.gguf, .query), (.gguf, .key): return true
        default: return false
        }
    }

    /// The file row holding HuggingFace row `row` of `weight`. In a GGUF's Q and K, llama.cpp row 2j+i of a head
    /// holds HuggingFace row i·(headDim/2) + j of the same head.
    private func fileRow(_ weight: WeightName, _ row: Int) throws(ModelFormatError) -> Int {
        guard isRowPermuted(weight) else { return row }
        let headCount = if case .query = weight { config.headCount } else { config.kvHeadCount }
        let headDim = expectedShape(weight)[0] / headCount, half = headDim / 2
        let head = row / headDim, offset = row % headDim
        return head * headDim + 2 * (offset % half) + offset / half
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
