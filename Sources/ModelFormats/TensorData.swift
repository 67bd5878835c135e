/// One stored tensor: where its bytes are in a mapped file, how they are encoded, and its shape in the
/// checkpoint's own convention (row-major, outermost dimension first). Format readers produce these; the weight
/// loader turns them into float32.
public struct TensorData: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    public let shape: [Int]
    /// The tensor's bytes, inside `file`'s mapping (which must outlive this value).
    public let bytes: UnsafeRawBufferPointer
    public let file: MappedFile

    public var elementCount: Int { shape.reduce(1, *) }

    /// Decodes the whole tensor to float32 into `destination` (which holds `elementCount` floats).
    public func decode(into destination: UnsafeMutablePointer<Float>) {
        Dequantize.decode(type, from: bytes.baseAddress!, count: elementCount, into: destination)
    }

    /// Decodes rows `rows` of a tensor of two or more dimensions, viewed as rows of its innermost dimension (a
    /// 3-D stack of expert matrices is their rows one after another), into `destination`.
    public func decodeRows(_ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let width = shape.last ?? 0
        precondition(shape.count >= 2 && rows.lowerBound >= 0 && rows.upperBound * width <= elementCount)
        let rowBytes = type.byteCount(elements: width)!
        Dequantize.decode(type, from: bytes.baseAddress! + rows.lowerBound * rowBytes,
                          count: rows.count * width, into: destination)
    }

    /// Builds a tensor view after checking that the byte range is whole and inside the file.
    static func make(name: String, type: TensorType, shape: [Int], file: MappedFile, offset: Int,
                     byteCount declared: Int?) throws(ModelFormatError) -> TensorData {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw .corruptHeader(path: file.path, reason: "tensor '\(name)' has a negative dimension")
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .corruptHeader(path: file.path, reason: "tensor '\(name)' is impossibly large") }
            count = product
        }
        // Rows are decoded independently (tensor-parallel slices, GGUF Q/K un-permutation), so every row must be a
        // whole number of quantisation blocks, as llama.cpp also requires.
        if let rowLength = shape.last, rowLength % type.blockElements != 0 {
            throw .corruptHeader(path: file.path, reason: "tensor '\(name)' has rows of \(rowLength) elements, not a whole number of \(type.rawValue) blocks of \(type.blockElements)")
        }
        guard let needed = type.byteCount(elements: count) else {
            throw .corruptHeader(path: file.path, reason: "tensor '\(name)' of \(count) elements is not a whole number of \(type.rawValue) blocks")
        }
        if let declared, declared != needed {
            throw .corruptHeader(path: file.path, reason: "tensor '\(name)' declares \(declared) bytes but \(type.rawValue) \(shape) needs \(needed)")
        }
        guard offset >= 0, let bytes = file.slice(offset: offset, count: needed) else { throw .truncatedTensor(path: file.path, tensor: name) }
        return TensorData(name: name, type: type, shape: shape, bytes: bytes, file: file)
    }
}
