/// Rows of a weight as the checkpoint stores them, not decoded: where each row's bytes are inside the file's
/// mapping (which `file` keeps alive) and their encoding. Kernels that compute on the file's own encoding build
/// their matrices from these, so a quantised model is never expanded to float32.
public struct StoredRows: @unchecked Sendable {
    public let type: TensorType
    /// Weights per row (after any column slice).
    public let columns: Int
    /// One pointer per row, in HuggingFace row order.
    public let pointers: [UnsafeRawPointer]
    public let file: MappedFile
}
