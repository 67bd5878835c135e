/// Converts stored tensor elements to float32, exactly: fp16 and bf16 widen without rounding, and GGUF blocks
/// decode as llama.cpp and the `gguf` Python package do (`d*q` for Q8_0/Q4_0, `d*q + m` for Q4_1, computed in
/// float32), so that the engine holds the very weights the golden references were computed from.
public enum Dequantize {
    /// Decodes `count` elements of `type` from `source` into `destination`.
    /// - Precondition: `source` holds `type.byteCount(elements: count)` bytes; `destination` holds `count` floats.
    public static func decode(_ type: TensorType, from source: UnsafeRawPointer, count: Int,
                              into destination: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            // Unaligned safe copy: the file offset of a tensor need not be 4-aligned (safetensors does not promise it).
            destination.withMemoryRebound(to: UInt8.self, capacity: count * 4) {
                $0.update(from: source.assumingMemoryBound(to: UInt8.self), count: count * 4)
            }
        case .f16:
            for i in 0..<count { destination[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                destination[i] = Float(bitPattern: bits)
            }
        case .q8_0:
            forEachBlock(type, count: count, source: source, destination: destination) { block, out in
                let d = halfAt(block, 0)
                for j in 0..<32 { out[j] = d * Float(Int8(bitPattern: block.load(fromByteOffset: 2 + j, as: UInt8.self))) }
            }
        case .q4_0:
            forEachBlock(type, count: count, source: source, destination: destination) { block, out in
                let d = halfAt(block, 0)
                for j in 0..<16 {
                    let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = d * Float(Int(byte & 0x0F) - 8)
                    out[j + 16] = d * Float(Int(byte >> 4) - 8)
                }
            }
        case .q4_1:
            forEachBlock(type, count: count, source: source, destination: destination) { block, out in
                let d = halfAt(block, 0), m = halfAt(block, 2)
                for j in 0..<16 {
                    let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = d * Float(byte & 0x0F) + m
                    out[j + 16] = d * Float(byte >> 4) + m
                }
            }
        }
    }

    @inline(__always)
    private static func halfAt(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    private static func forEachBlock(_ type: TensorType, count: Int, source: UnsafeRawPointer,
                                     destination: UnsafeMutablePointer<Float>,
                                     _ body: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
        for b in 0..<(count / type.blockElements) {
            body(source + b * type.blockBytes, destination + b * type.blockElements)
        }
    }
}
