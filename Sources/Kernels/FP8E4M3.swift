/// The 8-bit float E4M3FN of the OCP 8-bit floating point specification (NVIDIA's `float8_e4m3fn`): 1 sign bit,
/// 4 exponent bits with bias 7, 3 mantissa bits. There are no infinities; the two codes with every exponent and
/// mantissa bit set (0x7F, 0xFF) are NaN, so the largest finite magnitude is 0x7E = 1.75 · 2⁸ = 448. Exponent 0
/// encodes subnormals `0.mmm · 2⁻⁶` (smallest 2⁻⁹). The sign of zero is kept (0x80 is −0).
public enum FP8E4M3 {
    /// The largest finite magnitude.
    public static let maxFinite: Float = 448
    /// The canonical NaN code (positive sign).
    public static let nanCode: UInt8 = 0x7F

    /// Decoded value of every code, indexed by the code.
    public static let table: [Float] = (0..<256).map { decodeSlow(UInt8($0)) }

    /// The value of `code`.
    @inline(__always)
    public static func decode(_ code: UInt8) -> Float { table.withUnsafeBufferPointer { $0[Int(code)] } }

    /// Whether `code` is one of the two NaN codes.
    @inline(__always)
    public static func isNaN(_ code: UInt8) -> Bool { code & 0x7F == 0x7F }

    /// Encodes `x` rounding to nearest, ties to even, and saturating: magnitudes above 448 (infinities included)
    /// become ±448. NaN becomes 0x7F (0xFF when the sign bit is set).
    @inline(__always)
    public static func encode(_ x: Float) -> UInt8 {
        let bits = x.bitPattern
        let sign = UInt8(truncatingIfNeeded: bits >> 24) & 0x80
        let magnitudeBits = bits & 0x7FFF_FFFF
        if magnitudeBits > 0x7F80_0000 { return sign | nanCode }
        let a = Float(bitPattern: magnitudeBits)
        if a >= maxFinite { return sign | 0x7E }
        if a < 0.015625 {
            // Subnormal range (below 2⁻⁶): the code is the number of 2⁻⁹ steps, rounded to even; 8 steps is the
            // smallest normal, code 0x08, so the carry needs no special case. `a · 512` is exact.
            return sign | UInt8((a * 512).rounded(.toNearestOrEven))
        }
        // Normal: round the 23-bit float mantissa to 3 bits (ties to even); a carry into the exponent is right.
        let lsb = (magnitudeBits >> 20) & 1
        let rounded = (magnitudeBits &+ 0x7FFFF &+ lsb) >> 20        // float exponent (8 bits) · 8 + mantissa (3 bits)
        let code = rounded &- (120 << 3)                               // rebias 127 → 7
        return sign | UInt8(min(code, 0x7E))
    }

    /// Straightforward decoding from the definition (builds `table`).
    static func decodeSlow(_ code: UInt8) -> Float {
        let sign: Float = code & 0x80 != 0 ? -1 : 1
        let exponent = Int(code >> 3) & 0xF, mantissa = Float(code & 7)
        if exponent == 0xF && code & 7 == 7 { return .nan }
        if exponent == 0 { return sign * mantissa * 0x1p-9 }
        return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }
}
