/// A GGUF (version 2 or 3) file as llama.cpp and Ollama write it: a header, typed metadata key/values, tensor
/// descriptors, then aligned tensor data. Every read is bounds-checked so that a corrupt or truncated file is an
/// error naming the file, never a crash.
public struct GGUFFile: Sendable {
    /// A metadata value. Arrays keep their element values (token lists are arrays of strings).
    public enum Value: Sendable, Equatable {
        case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([Value])

        public var int: Int? {
            switch self {
            case .uint(let v): return Int(exactly: v)
            case .int(let v): return Int(exactly: v)
            default: return nil
            }
        }
        public var double: Double? {
            switch self {
            case .float(let v): return v
            case .uint(let v): return Double(v)
            case .int(let v): return Double(v)
            default: return nil
            }
        }
        public var string: String? { if case .string(let s) = self { return s } else { return nil } }
        public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
        public var array: [Value]? { if case .array(let a) = self { return a } else { return nil } }
    }

    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: Value]
    public let tensors: [String: TensorData]
    /// Tensor names in file order (for listings and error messages).
    public let tensorNames: [String]

    public init(path: String) throws(ModelFormatError) {
        let file = try MappedFile(path: path)
        var reader = Reader(file: file)
        guard try reader.bytes(4).elementsEqual("GGUF".utf8) else { throw .corruptHeader(path: path, reason: "not a GGUF file (bad magic)") }
        let version = try reader.u32()
        guard version == 2 || version == 3 else { throw .corruptHeader(path: path, reason: "GGUF version \(version) is not supported (2 or 3)") }
        let tensorCount = try reader.count(limit: 1 << 20)
        let metadataCount = try reader.count(limit: 1 << 20)
        var metadata: [String: Value] = [:]
        for _ in 0..<metadataCount {
            let key = try reader.string()
            metadata[key] = try reader.value(type: reader.u32(), depth: 0)
        }
        var descriptors: [(name: String, shape: [Int], type: UInt32, offset: Int)] = []
        for _ in 0..<tensorCount {
            let name = try reader.string()
            let dimensions = Int(try reader.u32())
            guard dimensions <= 4 else { throw .corruptHeader(path: path, reason: "tensor '\(name)' has \(dimensions) dimensions") }
            var ggmlShape: [Int] = []
            for _ in 0..<dimensions { ggmlShape.append(try reader.count(limit: 1 << 40)) }
            let type = try reader.u32()
            let offset = try reader.count(limit: Int.max)
            // ggml lists the fastest-varying dimension first; reverse to row-major, outermost first.
            descriptors.append((name, ggmlShape.reversed(), type, offset))
        }
        var alignment = 32
        if let value = metadata["general.alignment"] {
            // A cap keeps the offset arithmetic below far from overflow; llama.cpp writes 32.
            guard let a = value.int, a > 0, a % 8 == 0, a <= Self.maxAlignment else {
                throw .corruptHeader(path: path, reason: "general.alignment \(value.int.map(String.init) ?? "\(value)") is invalid "
                                     + "(a multiple of 8 up to \(Self.maxAlignment))")
            }
            alignment = a
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [String: TensorData] = [:]
        for d in descriptors {
            guard let type = TensorType(ggmlType: d.type) else {
                throw .unsupportedTensorType(path: path, tensor: d.name, type: "ggml type \(d.type)")
            }
            let (start, overflow) = dataStart.addingReportingOverflow(d.offset)
            guard !overflow else { throw .truncatedTensor(path: path, tensor: d.name) }
            tensors[d.name] = try TensorData.make(name: d.name, type: type, shape: d.shape, file: file, offset: start, byteCount: nil)
        }
        self.file = file
        self.version = version
        self.metadata = metadata
        self.tensors = tensors
        self.tensorNames = descriptors.map(\.name)
    }

    /// The largest `general.alignment` accepted.
    static let maxAlignment = 1 << 16

    /// Sequential bounds-checked reader over the mapping.
    private struct Reader {
        let file: MappedFile
        var offset = 0

        mutating func bytes(_ n: Int) throws(ModelFormatError) -> UnsafeRawBufferPointer {
            guard let slice = file.slice(offset: offset, count: n) else {
                throw .corruptHeader(path: file.path, reason: "header ends unexpectedly at byte \(offset)")
            }
            offset += n
            return slice
        }
        mutating func load<T: FixedWidthInteger>(_: T.Type) throws(ModelFormatError) -> T {
            T(littleEndian: try bytes(MemoryLayout<T>.size).loadUnaligned(as: T.self))
        }
        mutating func u32() throws(ModelFormatError) -> UInt32 { try load(UInt32.self) }
        /// A UInt64 count that must be at most `limit`.
        mutating func count(limit: Int) throws(ModelFormatError) -> Int {
            let raw = try load(UInt64.self)
            guard raw <= UInt64(limit) else { throw .corruptHeader(path: file.path, reason: "implausible count \(raw) at byte \(offset - 8)") }
            return Int(raw)
        }
        mutating func string() throws(ModelFormatError) -> String {
            let length = try count(limit: 1 << 26)
            return String(decoding: try bytes(length), as: UTF8.self)
        }
        mutating func value(type: UInt32, depth: Int) throws(ModelFormatError) -> Value {
            switch type {
            case 0: return .uint(UInt64(try load(UInt8.self)))
            case 1: return .int(Int64(try load(Int8.self)))
            case 2: return .uint(UInt64(try load(UInt16.self)))
            case 3: return .int(Int64(try load(Int16.self)))
            case 4: return .uint(UInt64(try load(UInt32.self)))
            case 5: return .int(Int64(try load(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try load(UInt32.self))))
            case 7: return .bool(try load(UInt8.self) != 0)
            case 8: return .string(try string())
            case 9:
                guard depth < 4 else { throw .corruptHeader(path: file.path, reason: "arrays nested too deeply") }
                let elementType = try u32()
                let n = try count(limit: 1 << 26)
                var values: [Value] = []
                // Every element takes at least one byte, so a count beyond the bytes left is found out while
                // reading; it must not reserve memory first.
                values.reserveCapacity(min(n, file.size - offset))
                for _ in 0..<n { values.append(try value(type: elementType, depth: depth + 1)) }
                return .array(values)
            case 10: return .uint(try load(UInt64.self))
            case 11: return .int(try load(Int64.self))
            case 12: return .float(Double(bitPattern: try load(UInt64.self)))
            default: throw .corruptHeader(path: file.path, reason: "unknown metadata value type \(type) at byte \(offset - 4)")
            }
        }
    }
}
