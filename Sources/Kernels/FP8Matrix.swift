import CFloatKernels

/// A `rows × columns` matrix stored as E4M3 codes (one byte per element) with one float32 scale per row (per output
/// channel of a linear layer): element `(r, c)` is `FP8E4M3.decode(code) · scale[r]`, and `scale[r] = max|row r| /
/// 448`, so every row uses the whole E4M3 range. An all-zero row has scale 0.
///
/// The codes are laid out in the 32-row panels of the packed linear kernel (`SCALELLM_PANEL_ROWS`: panel by panel,
/// column by column, 32 codes of one column together; rows past `rows` are zero), so that `FP8Linear` reads each
/// panel front to back and decodes 32 weights of one column at once. Rows are filled once, at load, by
/// `quantizeRows` (possibly in several parts, e.g. Q, K and V of one fused matrix); afterwards the matrix is only
/// read, by any number of threads.
public final class FP8Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// `panelCount × columns × 32` codes.
    public let codes: UnsafeMutablePointer<UInt8>
    /// `panelCount × 32` scales (zero past `rows`).
    public let scales: UnsafeMutablePointer<Float>

    /// Rows per panel.
    public static let panelRows = Int(SCALELLM_PANEL_ROWS)

    /// Panels of 32 rows (the last one padded with zero rows).
    public var panelCount: Int { (rows + Self.panelRows - 1) / Self.panelRows }

    /// An all-zero matrix (codes 0, scales 0).
    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0)
        self.rows = rows
        self.columns = columns
        let paddedRows = (rows + Self.panelRows - 1) / Self.panelRows * Self.panelRows
        codes = .allocate(capacity: max(paddedRows * columns, 1))
        codes.initialize(repeating: 0, count: paddedRows * columns)
        scales = .allocate(capacity: max(paddedRows, 1))
        scales.initialize(repeating: 0, count: paddedRows)
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

    /// Bytes held: one per element plus one float scale per row, rows rounded up to whole panels.
    public var bytes: Int { panelCount * Self.panelRows * (columns + MemoryLayout<Float>.stride) }

    /// Where the code of element `(row, column)` is in `codes`.
    func codeIndex(row: Int, column: Int) -> Int {
        (row / Self.panelRows * columns + column) * Self.panelRows + row % Self.panelRows
    }

    /// Quantises `range.count` rows from `source` (row-major, `columns` wide) into rows `range` of this matrix:
    /// per row, `scale = max|x| / 448` and each code is `FP8E4M3.encode(x / scale)` (round to nearest even).
    /// Rows with a non-finite maximum are not supported (weights are finite).
    public func quantizeRows(_ range: Range<Int>, from source: UnsafePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        for (i, r) in range.enumerated() {
            let row = source + i * columns
            var maxAbs: Float = 0
            for c in 0..<columns { maxAbs = max(maxAbs, abs(row[c])) }
            let scale = maxAbs / FP8E4M3.maxFinite
            scales[r] = scale
            for c in 0..<columns { codes[codeIndex(row: r, column: c)] = scale == 0 ? 0 : FP8E4M3.encode(row[c] / scale) }
        }
    }

    /// Decodes panel `panel` into `destination` (`32 × columns` floats in the fp32 panel layout): `decode(code) ·
    /// scale`, bit for bit `FP8E4M3.decode(code) * scale` whichever instruction set does it.
    public func dequantizePanel(_ panel: Int, into destination: UnsafeMutablePointer<Float>,
                                instructionSet: InstructionSet = .best) {
        precondition((0..<panelCount).contains(panel))
        scalellm_fp8_unpack_panel(codes + panel * Self.panelRows * columns, scales + panel * Self.panelRows, columns,
                                  destination, instructionSet.rawValue)
    }

    /// Dequantises rows `range` into `destination` (`range.count × columns` floats, row-major), panel by panel
    /// through `dequantizePanel`: the reference the tests compare the linear kernel against.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>,
                               instructionSet: InstructionSet = .best) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows)
        guard !range.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.panelRows * columns) { buffer in
            let panelValues = buffer.baseAddress!
            for panel in (range.lowerBound / Self.panelRows)...((range.upperBound - 1) / Self.panelRows) {
                dequantizePanel(panel, into: panelValues, instructionSet: instructionSet)
                let panelRange = (panel * Self.panelRows)..<((panel + 1) * Self.panelRows)
                for r in range.clamped(to: panelRange) {
                    let out = destination + (r - range.lowerBound) * columns, lane = r - panelRange.lowerBound
                    for c in 0..<columns { out[c] = panelValues[c * Self.panelRows + lane] }
                }
            }
        }
    }
}
