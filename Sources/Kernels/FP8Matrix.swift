import CFP8Kernels

/// A row-major `rows × columns` matrix stored as E4M3 codes (one byte per element) with one float32 scale per row
/// (per output channel of a linear layer): element `(r, c)` is `FP8E4M3.decode(code) · scale[r]`, and
/// `scale[r] = max|row r| / 448`, so every row uses the whole E4M3 range. An all-zero row has scale 0.
///
/// Rows are filled once, at load, by `quantizeRows` (possibly in several parts, e.g. Q, K and V of one fused
/// matrix); afterwards the matrix is only read, by any number of threads.
public final class FP8Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let codes: UnsafeMutablePointer<UInt8>
    public let scales: UnsafeMutablePointer<Float>

    /// An all-zero matrix (codes 0, scales 0).
    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0)
        self.rows = rows
        self.columns = columns
        codes = .allocate(capacity: max(rows * columns, 1))
        codes.initialize(repeating: 0, count: rows * columns)
        scales = .allocate(capacity: max(rows, 1))
        scales.initialize(repeating: 0, count: rows)
    }

    /// Quantises `values` (`rows × columns` floats, row-major).
    public convenience init(rows: Int, columns: Int, values: UnsafePointer<Float>) {
        self.init(rows: rows, columns: columns)
        quantizeRows(0..<rows, from: values)
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
    }

    /// Bytes held: one per element plus one float scale per row.
    public var bytes: Int { rows * columns + rows * MemoryLayout<Float>.stride }

    /// Quantises `range.count` rows from `source` (row-major, `columns` wide) into rows `range` of this matrix:
    /// per row, `scale = max|x| / 448` and each code is `FP8E4M3.encode(x / scale)` (round to nearest even).
    /// Rows with a non-finite maximum are not supported (weights are finite).
    public func quantizeRows(_ range: Range<Int>, from source: UnsafePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        for (i, r) in range.enumerated() {
            let row = source + i * columns, out = codes + r * columns
            var maxAbs: Float = 0
            for c in 0..<columns { maxAbs = max(maxAbs, abs(row[c])) }
            let scale = maxAbs / FP8E4M3.maxFinite
            scales[r] = scale
            if scale == 0 {
                out.update(repeating: 0, count: columns)
            } else {
                for c in 0..<columns { out[c] = FP8E4M3.encode(row[c] / scale) }
            }
        }
    }

    /// Dequantises rows `range` into `destination` (`range.count × columns` floats): `decode(code) · scale`,
    /// bit for bit `FP8E4M3.decode(code) * scale` whichever instruction set does it. The linear kernel uses this
    /// one tile at a time; it is also the reference the tests compare against.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>,
                               instructionSet: FP8InstructionSet = .best) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows)
        for (i, r) in range.enumerated() {
            scalellm_fp8_dequantize(codes + r * columns, columns, scales[r], destination + i * columns, instructionSet.rawValue)
        }
    }
}

/// Which vector instructions decode E4M3 codes (see CFP8Kernels): picked at run time from CPUID; a lower level
/// can be asked for (tests run every level the machine has).
public enum FP8InstructionSet: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this CPU and OS support.
    public static let best = FP8InstructionSet(rawValue: scalellm_fp8_isa()) ?? .portable

    /// Levels this machine can run, lowest first.
    public static var available: [FP8InstructionSet] { allCases.filter { $0.rawValue <= best.rawValue } }

    public var description: String {
        switch self {
        case .portable: return "portable C"
        case .avx2: return "AVX2+F16C"
        case .avx512: return "AVX-512"
        }
    }
}
