import Foundation

/// A `.safetensors` file: an 8-byte little-endian header length, a JSON header mapping tensor names to
/// dtype, shape and byte offsets, then the raw data. The file is memory-mapped; tensors are views into it.
public struct SafetensorsFile: Sendable {
    public let file: MappedFile
    public let tensors: [String: TensorData]

    public init(path: String) throws(ModelFormatError) {
        let file = try MappedFile(path: path)
        guard file.size >= 8 else { throw .corruptHeader(path: path, reason: "shorter than the 8-byte header length") }
        let headerLength = Int(clamping: file.bytes.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength > 1, headerLength <= 100 << 20, let header = file.slice(offset: 8, count: headerLength) else {
            throw .corruptHeader(path: path, reason: "header length \(headerLength) does not fit the file")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(header)) } catch {
            throw .corruptHeader(path: path, reason: "header is not valid JSON")
        }
        guard let entries = json as? [String: Any] else { throw .corruptHeader(path: path, reason: "header is not a JSON object") }
        let dataStart = 8 + headerLength
        var tensors: [String: TensorData] = [:]
        for (name, value) in entries where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2,
                  offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw .corruptHeader(path: path, reason: "entry for tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let type = TensorType(rawValue: dtype), [.f32, .f16, .bf16].contains(type) else {
                throw .unsupportedTensorType(path: path, tensor: name, type: dtype)
            }
            let (start, overflow) = dataStart.addingReportingOverflow(offsets[0])
            guard !overflow else { throw .truncatedTensor(path: path, tensor: name) }
            tensors[name] = try TensorData.make(name: name, type: type, shape: shape, file: file,
                                                offset: start, byteCount: offsets[1] - offsets[0])
        }
        self.file = file
        self.tensors = tensors
    }
}
