import Foundation

/// A model as the user brings it — a HuggingFace directory (single or sharded safetensors) or one GGUF file —
/// opened, memory-mapped and validated, with its weights reachable by `WeightName` as float32 in the HuggingFace
/// layout whatever the file format. This is the one place that knows the difference between the formats.
public struct ModelCheckpoint: Sendable {
    public enum Format: Sendable {
        case huggingFace(directory: String)
        case gguf(GGUFFile)

        /// The format without its file, for naming tensors.
        public enum Kind: Sendable { case huggingFace, gguf }

        public var kind: Kind {
            switch self {
            case .huggingFace: return .huggingFace
            case .gguf: return .gguf
            }
        }
    }

    public let path: String
    public let format: Format
    public let config: ModelConfig
    /// Tensors by their name in the file.
    private let tensors: [String: TensorData]

    /// Opens `path`: a directory with config.json and safetensors, or a `.gguf` file.
    public init(path: String) throws(ModelFormatError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .fileNotFound(path: path) }
        self.path = path
        if isDirectory.boolValue {
            config = try ModelConfig(huggingFaceDirectory: path)
            format = .huggingFace(directory: path)
            tensors = try Self.openSafetensors(directory: path)
        } else {
            let gguf = try GGUFFile(path: path)
            config = try ModelConfig(gguf: gguf)
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
        case .finalNorm, .attentionNorm, .attentionPostNorm, .mlpNorm, .mlpPostNorm: return [c.hiddenSize]
        case .query: return [c.queryDim, c.hiddenSize]
        case .key, .value: return [c.kvDim, c.hiddenSize]
        case .attentionOutput: return [c.hiddenSize, c.queryDim]
        case .queryBias: return [c.queryDim]
        case .keyBias, .valueBias: return [c.kvDim]
        case .queryNorm, .keyNorm: return [c.headDim]
        case .gate, .up, .expertGate, .expertUp: return [c.intermediateSize, c.hiddenSize]
        case .down, .expertDown: return [c.hiddenSize, c.intermediateSize]
        case .router: return [c.experts?.expertCount ?? 0, c.hiddenSize]
        }
    }

    /// Every weight the forward pass of `config` needs (the LM head only when it is not tied to the embedding).
    public var requiredWeights: [WeightName] {
        let c = config
        var names: [WeightName] = [.tokenEmbedding, .finalNorm]
        if !c.tieWordEmbeddings { names.append(.lmHead) }
        for l in 0..<c.layerCount {
            names += [.attentionNorm(layer: l), .query(layer: l), .key(layer: l), .value(layer: l), .attentionOutput(layer: l),
                      .mlpNorm(layer: l)]
            if c.attentionBias { names += [.queryBias(layer: l), .keyBias(layer: l), .valueBias(layer: l)] }
            if c.queryKeyNorm { names += [.queryNorm(layer: l), .keyNorm(layer: l)] }
            if c.sandwichNorms { names += [.attentionPostNorm(layer: l), .mlpPostNorm(layer: l)] }
            if let experts = c.experts {
                names.append(.router(layer: l))
                for e in 0..<experts.expertCount {
                    names += [.expertGate(layer: l, expert: e), .expertUp(layer: l, expert: e), .expertDown(layer: l, expert: e)]
                }
            } else {
                names += [.gate(layer: l), .up(layer: l), .down(layer: l)]
            }
        }
        return names
    }

    /// The stored tensor holding `weight` (for a fused or stacked tensor, more than the weight: see `location`).
    public func tensor(_ weight: WeightName) throws(ModelFormatError) -> TensorData {
        let name = location(weight).tensor
        guard let t = tensors[name] else { throw .missingTensor(path: path, tensor: name) }
        return t
    }

    /// Where the file stores `weight`: its tensor and first row.
    public func location(_ weight: WeightName) -> WeightName.Location { weight.location(in: format.kind, config: config) }

    /// Decodes rows `rows` (all rows when nil) of `weight` to float32 in HuggingFace layout into `destination`.
    /// GGUF's `llama` architecture stores the rows of Q and K permuted for llama.cpp's interleaved RoPE; they are put
    /// back here (see `fileRows`), so that the engine sees one layout. Row ranges must then start and end on head
    /// boundaries.
    public func decode(_ weight: WeightName, rows: Range<Int>? = nil, into destination: UnsafeMutablePointer<Float>) throws(ModelFormatError) {
        let t = try tensor(weight)
        let shape = expectedShape(weight)
        guard shape.count == 2 else {
            guard isRowPermuted(weight) else { return t.decode(into: destination) }
            // A permuted bias: one value per row.
            let stored = [Float](unsafeUninitializedCapacity: t.elementCount) { buffer, count in
                t.decode(into: buffer.baseAddress!)
                count = t.elementCount
            }
            let fileRow = fileRows(weight)
            for row in 0..<shape[0] { destination[row] = stored[fileRow(row)] }
            return
        }
        let rows = rows ?? 0..<shape[0]
        let fileRow = fileRows(weight)
        guard isRowPermuted(weight) else {
            let first = fileRow(rows.lowerBound)
            return t.decodeRows(first..<(first + rows.count), into: destination)
        }
        for (i, row) in rows.enumerated() {
            let source = fileRow(row)
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
        let fileRow = fileRows(weight)
        let pointers = (rows ?? 0..<shape[0]).map { t.bytes.baseAddress! + fileRow($0) * rowBytes + columnOffset }
        return StoredRows(type: t.type, columns: columns.count, pointers: pointers, file: t.file)
    }

    /// Whether the file stores `weight`'s rows in another order than HuggingFace: Q and K (and their biases) of a
    /// `llama`-architecture GGUF, permuted for llama.cpp's interleaved RoPE.
    private func isRowPermuted(_ weight: WeightName) -> Bool {
        format.kind == .gguf && config.family.ggufPermutesQueryKey && weight.isQueryOrKey
    }

    /// Maps HuggingFace rows of `weight` to rows of the file's tensor (viewed as rows of its innermost dimension):
    /// offset by the weight's first row in a fused or stacked tensor, and in a permuted Q or K, llama.cpp row 2j+i
    /// of a head holds HuggingFace row i·(headDim/2) + j of the same head. The weight is located once, not per row.
    private func fileRows(_ weight: WeightName) -> (Int) -> Int {
        let first = location(weight).firstRow
        guard isRowPermuted(weight) else { return { first + $0 } }
        let headDim = config.headDim, half = headDim / 2
        return { row in
            let head = row / headDim, offset = row % headDim
            return first + head * headDim + 2 * (offset % half) + offset / half
        }
    }

    /// Convenience: the whole weight as a float32 array in HuggingFace layout.
    public func float32(_ weight: WeightName) throws(ModelFormatError) -> [Float] {
        var values = [Float](repeating: 0, count: expectedShape(weight).reduce(1, *))
        try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelFormatError) in try decode(weight, into: buffer.baseAddress!) }
        return values
    }

    /// Every tensor the weights live in must be exactly the weights located in it: a 1-D weight's tensor its
    /// shape, a matrix's tensor rows of the weight's width, as many as the weights stored in it have together
    /// (one for a plain weight, Q+K+V for a fused `qkv_proj`, every expert for a stacked expert tensor).
    private func checkShapes() throws(ModelFormatError) {
        var rowsByTensor: [String: (rows: Int, width: Int)] = [:]
        for weight in requiredWeights {
            let t = try tensor(weight), shape = expectedShape(weight)
            guard shape.count == 2 else {
                guard t.shape == shape else { throw .tensorShapeMismatch(path: t.file.path, tensor: t.name, expected: shape, found: t.shape) }
                continue
            }
            let sum = rowsByTensor[t.name, default: (0, shape[1])]
            guard sum.width == shape[1] else {
                throw .invalidConfig(path: t.file.path, reason: "tensor '\(t.name)' holds weights of different widths")
            }
            rowsByTensor[t.name] = (sum.rows + shape[0], shape[1])
        }
        for (name, expected) in rowsByTensor {
            let t = tensors[name]!
            guard t.shape.count >= 2, t.shape.last == expected.width, t.elementCount == expected.rows * expected.width else {
                throw .tensorShapeMismatch(path: t.file.path, tensor: name, expected: [expected.rows, expected.width], found: t.shape)
            }
        }
    }

    /// `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    private static func openSafetensors(directory: String) throws(ModelFormatError) -> [String: TensorData] {
        let indexPath = directory + "/model.safetensors.index.json"
        guard FileManager.default.fileExists(atPath: indexPath) else {
            return try SafetensorsFile(path: directory + "/model.safetensors").tensors
        }
        let index = try ModelConfig.readJSONObject(indexPath)
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
