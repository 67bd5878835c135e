import Kernels

/// The KV cache's element types as the tests round them, written from the formats' definitions (Swift's
/// `Float16`, the top half of a float, `FP8E4M3`) rather than from the C encoders they check.
enum KVRounding {
    /// One head's values as the cache holds them (fp8: the head's scale is max |x| / 448).
    static func round(_ head: [Float], _ dtype: KVCacheDType) -> [Double] {
        switch dtype {
        case .f32:
            return head.map(Double.init)
        case .f16:
            return head.map { Double(Float16(min(max($0, -65504), 65504))) }
        case .bf16:
            return head.map { x in
                let bits = x.bitPattern
                let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16   // ties to even
                return Double(Float(bitPattern: rounded << 16))
            }
        case .fp8:
            let largest = head.reduce(0) { max($0, abs($1)) }
            let scale = largest / 448, factor = largest > 0 ? 448 / largest : 0
            return head.map { Double(FP8E4M3.decode(FP8E4M3.encode($0 * factor))) * Double(scale) }
        }
    }

    /// The largest error of one stored element relative to the largest magnitude of its head: half a unit in the
    /// last place of the significand (11 bits for f16, 8 for bf16, 4 for E4M3, whose subnormals err by at most
    /// 2⁻¹⁰ · scale, below that).
    static func unitRoundoff(_ dtype: KVCacheDType) -> Double {
        switch dtype {
        case .f32: return 0
        case .f16: return 0x1p-11
        case .bf16: return 0x1p-8
        case .fp8: return 0x1p-4
        }
    }

    /// The value of element `e` (of `tokenStride`) of the token at `position`, read from a pool's bytes by the
    /// layout the header of the C kernels describes.
    static func stored(_ pool: [UInt8], _ layout: PagedKVLayout, table: [Int32], position: Int, element e: Int) -> Double {
        let slot = position % layout.blockSize
        let base = Int(table[position / layout.blockSize]) * layout.blockBytes
        let index = slot * layout.tokenStride + e
        func word<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            (0..<MemoryLayout<T>.size).reduce(T(0)) { $0 | T(pool[offset + $1]) << (8 * $1) }
        }
        switch layout.dtype {
        case .f32: return Double(Float(bitPattern: word(base + 4 * index, UInt32.self)))
        case .f16: return Double(Float16(bitPattern: word(base + 2 * index, UInt16.self)))
        case .bf16: return Double(Float(bitPattern: UInt32(word(base + 2 * index, UInt16.self)) << 16))
        case .fp8:
            let scaleOffset = base + layout.blockSize * layout.tokenStride + 4 * (slot * layout.kvHeadCount + e / layout.headDim)
            return Double(FP8E4M3.decode(pool[base + index])) * Double(Float(bitPattern: word(scaleOffset, UInt32.self)))
        }
    }

    /// The pool bytes the token at `position` occupies (its elements, and for fp8 its scales).
    static func bytes(_ layout: PagedKVLayout, table: [Int32], position: Int) -> [Int] {
        let slot = position % layout.blockSize
        let base = Int(table[position / layout.blockSize]) * layout.blockBytes
        let size = layout.dtype == .f32 ? 4 : layout.dtype == .fp8 ? 1 : 2
        let elements = Array((base + size * slot * layout.tokenStride)..<(base + size * (slot + 1) * layout.tokenStride))
        guard layout.dtype == .fp8 else { return elements }
        let scales = base + layout.blockSize * layout.tokenStride + 4 * slot * layout.kvHeadCount
        return elements + Array(scales..<(scales + 4 * layout.kvHeadCount))
    }
}
