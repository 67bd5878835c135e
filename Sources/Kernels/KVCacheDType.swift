import CFloatKernels

/// The element type of the paged KV cache. Attention reads every cached key and value of a sequence at every
/// step, so halving the element halves that traffic and doubles the tokens a memory budget holds; f32 keeps the
/// float32 path exact. The kernels convert on store (round to nearest even) and in the attention kernel's loads.
public enum KVCacheDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32
    /// IEEE half (5-bit exponent, 10-bit mantissa); saturates at ±65504.
    case f16
    /// bfloat16: float32's exponent, 7-bit mantissa.
    case bf16
    /// E4M3 codes with one float scale per token and KV head (max |x| / 448), stored after each block's codes.
    case fp8

    public var description: String { rawValue }

    /// The C kernels' `SCALELLM_KV_*` code.
    var code: Int32 {
        switch self {
        case .f32: return Int32(SCALELLM_KV_F32)
        case .f16: return Int32(SCALELLM_KV_F16)
        case .bf16: return Int32(SCALELLM_KV_BF16)
        case .fp8: return Int32(SCALELLM_KV_FP8)
        }
    }
}
