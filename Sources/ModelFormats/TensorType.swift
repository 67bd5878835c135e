import CGGUFQuants

/// The element encodings ScaleLLM can read from checkpoints: the float types of safetensors and GGUF, and every
/// common GGUF block-quantised type (legacy 32-weight blocks, k-quants of 256, the non-linear IQ4 types). Each knows
/// its block geometry so that shape and truncation checks need no special cases; the block formats themselves are
/// decoded in C (`CGGUFQuants`).
public enum TensorType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    case q4_0 = "Q4_0", q4_1 = "Q4_1", q5_0 = "Q5_0", q5_1 = "Q5_1", q8_0 = "Q8_0"
    case q2_K = "Q2_K", q3_K = "Q3_K", q4_K = "Q4_K", q5_K = "Q5_K", q6_K = "Q6_K"
    case iq4_NL = "IQ4_NL", iq4_XS = "IQ4_XS"

    /// GGUF's numeric type id (ggml_type).
    public var ggmlType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q5_0: return 6
        case .q5_1: return 7
        case .q8_0: return 8
        case .q2_K: return 10
        case .q3_K: return 11
        case .q4_K: return 12
        case .q5_K: return 13
        case .q6_K: return 14
        case .iq4_NL: return 20
        case .iq4_XS: return 23
        case .bf16: return 30
        }
    }

    /// The type with GGUF's numeric id `ggmlType`, or nil for one ScaleLLM does not read.
    public init?(ggmlType: UInt32) {
        guard let type = Self.allCases.first(where: { $0.ggmlType == ggmlType }) else { return nil }
        self = type
    }

    /// Elements per block and bytes per block (1 element for the float types).
    public var blockElements: Int { scalellm_ggml_block_elements(Int32(ggmlType)) }
    public var blockBytes: Int { scalellm_ggml_block_bytes(Int32(ggmlType)) }

    /// Whether the type is block-quantised (computed on as integers) rather than a float type.
    public var isQuantized: Bool { blockElements > 1 }

    /// Bytes needed for `count` elements, or nil when `count` is not a whole number of blocks.
    public func byteCount(elements count: Int) -> Int? {
        guard count % blockElements == 0 else { return nil }
        let (blocks, overflow) = (count / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : blocks
    }

    /// The names of the readable types, for error messages.
    public static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
