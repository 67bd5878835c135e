/// The element encodings ScaleLLM can read from checkpoints. Quantised GGUF types are stored in blocks; the type
/// knows its block geometry so that shape checks and truncation checks need no special cases.
public enum TensorType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", q8_0 = "Q8_0", q4_0 = "Q4_0", q4_1 = "Q4_1"

    /// Elements per block and bytes per block.
    public var blockElements: Int {
        switch self { case .f32, .f16, .bf16: return 1; case .q8_0, .q4_0, .q4_1: return 32 }
    }
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q8_0: return 34      // fp16 scale + 32 × int8
        case .q4_0: return 18      // fp16 scale + 16 bytes of nibbles
        case .q4_1: return 20      // fp16 scale + fp16 min + 16 bytes of nibbles
        }
    }

    /// Bytes needed for `count` elements, or nil when `count` is not a whole number of blocks.
    public func byteCount(elements count: Int) -> Int? {
        guard count % blockElements == 0 else { return nil }
        let (blocks, overflow) = (count / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : blocks
    }

    /// GGUF's numeric type ids (ggml_type) for the types supported here.
    public init?(ggmlType: UInt32) {
        switch ggmlType {
        case 0: self = .f32
        case 1: self = .f16
        case 2: self = .q4_0
        case 3: self = .q4_1
        case 8: self = .q8_0
        case 30: self = .bf16
        default: return nil
        }
    }
}
