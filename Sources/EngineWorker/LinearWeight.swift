import Kernels

/// How the weights of the linear layers (QKV, attention output, gate/up, down, LM head) are held in memory.
/// Embedding rows and norm weights are always float32.
public enum WeightPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Float32, as decoded from the checkpoint.
    case fp32
    /// E4M3 (1 byte per weight) with one float32 scale per output channel, quantised at load; decoded inside the
    /// matrix multiply.
    case fp8

    public var description: String { rawValue }
}

/// The weight of one linear layer `y = x · Wᵀ` (`W` is `outputs × inputs`, HuggingFace layout) in either precision.
struct LinearWeight: @unchecked Sendable {
    enum Storage {
        case fp32(PackedMatrix)
        case fp8(FP8Matrix)
    }

    let outputs: Int
    let inputs: Int
    let storage: Storage

    /// Packs row-major `values` (`outputs × inputs`), which the weight does not keep.
    init(fp32 values: FloatBuffer, outputs: Int, inputs: Int) {
        precondition(values.count == outputs * inputs)
        self.outputs = outputs
        self.inputs = inputs
        storage = .fp32(PackedMatrix(rows: outputs, columns: inputs, values: values.pointer))
    }

    init(fp8 matrix: FP8Matrix) {
        outputs = matrix.rows
        inputs = matrix.columns
        storage = .fp8(matrix)
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ` (+ `y` when `accumulate`): the packed kernel, fp32 or fp8.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        switch storage {
        case .fp32(let w):
            w.multiplyTransposed(x, rows: rows, into: y, accumulate: accumulate)
        case .fp8(let w):
            FP8Linear.multiplyTransposed(x, rows: rows, weight: w, into: y, accumulate: accumulate)
        }
    }

    /// Bytes held (packed floats for fp32; codes and scales for fp8).
    var bytes: Int {
        switch storage {
        case .fp32(let w): return w.bytes
        case .fp8(let w): return w.bytes
        }
    }

    /// The packed matrix when the weight is fp32.
    var packedMatrix: PackedMatrix? {
        if case .fp32(let w) = storage { return w }
        return nil
    }
}
