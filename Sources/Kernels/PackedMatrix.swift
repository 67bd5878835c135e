import CFloatKernels

/// A float32 weight matrix (`rows × columns`, HuggingFace's out × in) packed once, at load, into the panel layout
/// of `scalellm_f32_packed_linear` (32 rows per panel, column by column), for linear layers `y = x · Wᵀ`.
///
/// It exists because OpenBLAS's sgemm re-packs the whole weight in every call: for a decode batch that extra pass
/// over all the weights costs as much as the product. Packed once, a step reads each weight once, and one kernel
/// serves every batch size (a batch-1 decode streams the panels at memory speed, a prefill chunk runs at the
/// cores' FMA rate). Filled at init; afterwards only read, by any number of threads.
public final class PackedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    private let panels: UnsafeMutablePointer<Float>

    /// Packs `values` (`rows × columns` floats, row-major); `values` may be freed afterwards.
    public init(rows: Int, columns: Int, values: UnsafePointer<Float>) {
        precondition(rows > 0 && columns > 0)
        self.rows = rows
        self.columns = columns
        let count = scalellm_f32_packed_size(rows, columns)
        // 64-byte alignment: every 16-float load of a panel is one aligned cache line half.
        panels = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        scalellm_f32_pack(values, rows, columns, panels)
    }

    deinit { panels.deallocate() }

    /// Bytes held (rows rounded up to whole panels).
    public var bytes: Int { scalellm_f32_packed_size(rows, columns) * MemoryLayout<Float>.stride }

    /// Copies row `row` (`columns` floats) into `destination`: the token lookup of an embedding that is also the
    /// LM head, so a tied model holds its largest matrix once.
    public func copyRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition((0..<rows).contains(row), "row \(row) outside 0..<\(rows)")
        scalellm_f32_packed_row(panels, columns, row, destination)
    }

    /// `y[m × rows] = x[m × columns] · Wᵀ` (+ `y` when `accumulate`), the panels split over the process's cores.
    public func multiplyTransposed(_ x: UnsafePointer<Float>, rows m: Int, into y: UnsafeMutablePointer<Float>,
                                   accumulate: Bool = false) {
        let panelCount = (rows + Int(SCALELLM_PANEL_ROWS) - 1) / Int(SCALELLM_PANEL_ROWS)
        ParallelLoop.forEachRange(of: panelCount, minimumPerRange: 2) { range in
            scalellm_f32_packed_linear(panels, range.lowerBound, range.count, rows, columns, x, m, y, rows,
                                       accumulate ? 1 : 0)
        }
    }
}
