/// Builds the bytes of a GGUF file for tests: header, typed metadata, tensor descriptors, aligned tensor data.
/// `raw` values and the public byte helpers let a test write any value, including malformed ones.
public struct GGUFWriter {
    /// A metadata value with its GGUF type.
    public enum Value {
        case u32(UInt32), f32(Float), string(String), bool(Bool), strings([String]), raw(type: UInt32, bytes: [UInt8])
        /// Arrays of float32 (token scores) and int32 (token types), as llama.cpp's converter writes them.
        case f32s([Float]), i32s([Int32])
    }

    /// A tensor descriptor and its data.
    public struct Tensor {
        public var name: String
        /// Row-major (outermost first) as in HuggingFace; written reversed, as ggml does.
        public var shape: [Int]
        public var ggmlType: UInt32
        public var data: [UInt8]

        public init(name: String, shape: [Int], ggmlType: UInt32, data: [UInt8]) {
            self.name = name
            self.shape = shape
            self.ggmlType = ggmlType
            self.data = data
        }
    }

    public var version: UInt32 = 3
    public var metadata: [(String, Value)] = []
    public var tensors: [Tensor] = []
    /// The padding applied to the header and every tensor's data.
    public var alignment = 32

    public init(metadata: [(String, Value)] = []) {
        self.metadata = metadata
    }

    /// Sets `key`, in place if it is already there (as gguf-py's writer overwrites a repeated key), else at the end.
    public mutating func set(_ key: String, _ value: Value) {
        if let index = metadata.firstIndex(where: { $0.0 == key }) { metadata[index].1 = value } else { metadata.append((key, value)) }
    }

    public static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    public static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    /// A GGUF string: 64-bit length, then UTF-8 bytes.
    public static func string(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }

    private static func encode(_ value: Value) -> [UInt8] {
        switch value {
        case .u32(let v): return u32(4) + u32(v)
        case .f32(let v): return u32(6) + u32(v.bitPattern)
        case .string(let s): return u32(8) + string(s)
        case .bool(let b): return u32(7) + [b ? 1 : 0]
        case .strings(let list): return u32(9) + u32(8) + u64(UInt64(list.count)) + list.flatMap(string)
        case .f32s(let list): return u32(9) + u32(6) + u64(UInt64(list.count)) + list.flatMap { u32($0.bitPattern) }
        case .i32s(let list): return u32(9) + u32(5) + u64(UInt64(list.count)) + list.flatMap { u32(UInt32(bitPattern: $0)) }
        case .raw(let type, let bytes): return u32(type) + bytes
        }
    }

    /// The whole file.
    public func bytes() -> [UInt8] {
        var out = Array("GGUF".utf8) + Self.u32(version) + Self.u64(UInt64(tensors.count)) + Self.u64(UInt64(metadata.count))
        for (key, value) in metadata { out += Self.string(key) + Self.encode(value) }
        var offset = 0
        var data: [UInt8] = []
        for t in tensors {
            out += Self.string(t.name) + Self.u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { out += Self.u64(UInt64(d)) }
            out += Self.u32(t.ggmlType) + Self.u64(UInt64(offset))
            data += t.data
            while data.count % alignment != 0 { data.append(0) }
            offset = data.count
        }
        while out.count % alignment != 0 { out.append(0) }
        return out + data
    }
}
