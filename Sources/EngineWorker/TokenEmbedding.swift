import Kernels

/// The token embedding table (`vocab × hidden`), looked up once per input token. A model whose LM head is tied
/// to its embedding holds that matrix once: in fp32 the lookup reads rows out of the packed LM head (the largest
/// matrix of a small model, 113 MB in SmolLM2-135M); a quantised table is looked up in its own encoding (one row
/// decoded per token), whether tied or not; otherwise it is its own row-major float32 table.
enum TokenEmbedding: @unchecked Sendable {
    case rows(FloatBuffer)
    case packedLMHead(PackedMatrix)
    /// A block-encoded table; `isLMHead` when it is also the (tied) LM head's matrix.
    case quantized(QuantizedMatrix, isLMHead: Bool)

    /// Copies the `width` floats of `token`'s row into `destination`.
    func copyRow(_ token: Int, width: Int, into destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .rows(let table): destination.update(from: table.pointer + token * width, count: width)
        case .packedLMHead(let head): head.copyRow(token, into: destination)
        case .quantized(let table, _): table.copyRow(token, into: destination)
        }
    }

    /// Bytes held by the table itself (none when it is the LM head's).
    var bytes: Int {
        switch self {
        case .rows(let table): return table.bytes
        case .packedLMHead: return 0
        case .quantized(let table, let isLMHead): return isLMHead ? 0 : table.bytes
        }
    }
}
