import CGGUFQuants

extension QuantizedMatrix {
    /// Quantises row-major `values` (`rows × columns` floats, `columns` a multiple of 32) into Q8_0 or Q4_0 blocks
    /// (`ggmlType` `SCALELLM_GGML_Q8_0` or `SCALELLM_GGML_Q4_0`) held by the matrix, as llama.cpp's reference quantisers do: a float checkpoint
    /// served with the memory and speed of a quantised one. `values` may be freed afterwards.
    public convenience init(quantizing values: UnsafePointer<Float>, rows: Int, columns: Int, ggmlType: UInt32) {
        let isQ8_0 = ggmlType == UInt32(SCALELLM_GGML_Q8_0)
        precondition(isQ8_0 || ggmlType == UInt32(SCALELLM_GGML_Q4_0), "only Q8_0 and Q4_0 are quantised at load")
        let rowBytes = columns / 32 * scalellm_ggml_block_bytes(Int32(ggmlType))
        let buffer = EncodedRows(byteCount: rows * rowBytes)
        for r in 0..<rows {
            let row = values + r * columns, out = buffer.bytes + r * rowBytes
            if isQ8_0 { scalellm_ggml_quantize_q8_0(row, columns, out) } else { scalellm_ggml_quantize_q4_0(row, columns, out) }
        }
        self.init(rows: (0..<rows).map { Row(pointer: UnsafeRawPointer(buffer.bytes + $0 * rowBytes), ggmlType: ggmlType) },
                  columns: columns, owners: [buffer])
    }
}

/// Block-encoded rows a `QuantizedMatrix` owns (weights quantised at load rather than mapped from a file).
private final class EncodedRows {
    let bytes: UnsafeMutableRawPointer

    init(byteCount: Int) { bytes = .allocate(byteCount: max(byteCount, 1), alignment: 64) }

    deinit { bytes.deallocate() }
}
