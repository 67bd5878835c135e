import CFloatKernels
import CGGUFQuants

/// A weight matrix (`rows × columns`, HuggingFace's out × in) whose rows stay in a GGUF block encoding — in the
/// memory-mapped checkpoint itself, or in a buffer this matrix owns when a float checkpoint is quantised at load —
/// for linear layers `y = x · Wᵀ` computed on the integers (`scalellm_quant_linear`).
///
/// It exists so that a quantised model costs the memory of its file, not of its float32 expansion, and so that a
/// decode step reads the file's 4–8 bits per weight instead of 32. Every row has its own pointer and type: rows of
/// several tensors (Q, K and V; gate and up) of different encodings form one matrix, a tensor-parallel slice or a
/// permuted row order costs no copy. Filled at init; afterwards only read, by any number of threads.
public final class QuantizedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    private let rowPointers: UnsafeMutablePointer<UnsafeRawPointer?>
    private let rowTypes: UnsafeMutablePointer<UInt8>
    /// What keeps the rows' memory alive (file mappings, owned buffers).
    private let owners: [AnyObject]
    /// Bytes of the rows' encoded weights.
    public let bytes: Int

    /// One row: where its encoded weights are and their ggml type.
    public struct Row {
        public let pointer: UnsafeRawPointer
        public let ggmlType: UInt32
        public init(pointer: UnsafeRawPointer, ggmlType: UInt32) {
            self.pointer = pointer
            self.ggmlType = ggmlType
        }
    }

    /// A matrix of `rows` (each `columns` weights of a quantised type, `columns` a multiple of 32) kept alive by
    /// `owners`.
    public init(rows: [Row], columns: Int, owners: [AnyObject]) {
        precondition(!rows.isEmpty && columns > 0 && columns % 32 == 0)
        precondition(rows.allSatisfy { scalellm_ggml_is_quantized(Int32($0.ggmlType)) != 0 })
        self.rows = rows.count
        self.columns = columns
        self.owners = owners
        rowPointers = .allocate(capacity: rows.count)
        rowTypes = .allocate(capacity: rows.count)
        var bytes = 0
        for (i, row) in rows.enumerated() {
            rowPointers[i] = row.pointer
            rowTypes[i] = UInt8(row.ggmlType)
            bytes += columns / scalellm_ggml_block_elements(Int32(row.ggmlType)) * scalellm_ggml_block_bytes(Int32(row.ggmlType))
        }
        self.bytes = bytes
    }

    deinit {
        rowPointers.deallocate()
        rowTypes.deallocate()
    }

    /// Decodes row `row` exactly to `columns` floats: the token lookup of a quantised embedding table.
    public func copyRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition((0..<rows).contains(row), "row \(row) outside 0..<\(rows)")
        scalellm_ggml_decode(Int32(rowTypes[row]), rowPointers[row], columns, destination)
    }

    /// Tiles of `SCALELLM_QUANT_TILE_ROWS` rows, the unit the kernel unpacks and threads split.
    public var tileCount: Int { (rows + Int(SCALELLM_QUANT_TILE_ROWS) - 1) / Int(SCALELLM_QUANT_TILE_ROWS) }

    /// `y[m × rows] = x[m × columns] · Wᵀ` (+ `y` when `accumulate`): `x` quantised to bytes per 32 values, then
    /// the tiles split over the process's cores, with the instruction-set `level` given (tests ask for each).
    public func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, into y: UnsafeMutablePointer<Float>,
                                   accumulate: Bool = false, level: InstructionSet = .best) {
        let groups = columns / Int(SCALELLM_UNPACK_GROUP)
        let quantized = QuantizedActivations(rows: m, columns: columns, groups: groups)
        scalellm_q8_quantize_rows(x, m, columns, quantized.values, quantized.scales, quantized.sums)
        ParallelLoop.forEachRange(of: tileCount, minimumPerRange: 4) { tiles in
            scalellm_quant_linear(rowPointers, rowTypes, rows, columns, tiles.lowerBound, tiles.count, quantized.values,
                                  quantized.scales, quantized.sums, m, y, rows, accumulate ? 1 : 0, level.rawValue)
        }
        withExtendedLifetime(quantized) {}
    }
}

/// Activations quantised for the integer kernel: bytes per value, and per group of 16 values the block scale and
/// the scaled sum of the bytes.
private final class QuantizedActivations {
    let values: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Float>

    init(rows: Int, columns: Int, groups: Int) {
        values = .allocate(capacity: rows * columns)
        scales = .allocate(capacity: rows * groups)
        sums = .allocate(capacity: rows * groups)
    }

    deinit {
        values.deallocate()
        scales.deallocate()
        sums.deallocate()
    }
}
