import CGGUFQuants

/// Converts stored tensor elements to float32, exactly: fp16 and bf16 widen without rounding, and GGUF blocks
/// decode bit for bit as ggml's own `to_float` does (checked against ggml's vectors in the tests), so that an
/// engine computing in float32 holds the very weights the golden references were computed from.
public enum Dequantize {
    /// Decodes `count` elements of `type` from `source` into `destination`.
    /// - Precondition: `source` holds `type.byteCount(elements: count)` bytes; `destination` holds `count` floats.
    public static func decode(_ type: TensorType, from source: UnsafeRawPointer, count: Int,
                              into destination: UnsafeMutablePointer<Float>) {
        scalellm_ggml_decode(Int32(type.ggmlType), source, count, destination)
    }
}
