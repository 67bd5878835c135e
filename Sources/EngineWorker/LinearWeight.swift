import Kernels
import ModelFormats

/// How the weights of the linear layers (QKV, attention output, gate/up, down, LM head) are held in memory and
/// computed on. Norm weights are always float32.
public enum WeightPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The checkpoint's own encoding: GGUF block-quantised tensors stay quantised and are computed on as integers;
    /// float tensors are held as float32.
    case auto
    /// Float32, as decoded from the checkpoint: the exact path the golden references are checked on.
    case fp32
    /// E4M3 (1 byte per weight) with one float32 scale per output channel, quantised at load; decoded inside the
    /// matrix multiply.
    case fp8
    /// GGUF's Q8_0 (8-bit values, one fp16 scale per 32), quantised at load as llama.cpp's reference quantiser does.
    case q8_0
    /// GGUF's Q4_0 (4-bit values, one fp16 scale per 32), quantised at load likewise.
    case q4_0

    public var description: String { rawValue }

    /// The GGUF type a float weight is quantised into at load, for the precisions that do that.
    var quantizedType: UInt32? {
        switch self {
        case .q8_0: return TensorType.q8_0.ggmlType
        case .q4_0: return TensorType.q4_0.ggmlType
        case .auto, .fp32, .fp8: return nil
        }
    }
}

/// The weight of one linear layer `y = x · Wᵀ` (`W` is `outputs × inputs`, HuggingFace layout) in one of the
/// storages.
struct LinearWeight: @unchecked Sendable {
    enum Storage {
        case fp32(PackedMatrix)
        case fp8(FP8Matrix)
        case quantized(QuantizedMatrix)
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

    init(quantized matrix: QuantizedMatrix) {
        outputs = matrix.rows
        inputs = matrix.columns
        storage = .quantized(matrix)
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ` (+ `y` when `accumulate`) with the storage's kernel.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        switch storage {
        case .fp32(let w):
            w.multiplyTransposed(x, rows: rows, into: y, accumulate: accumulate)
        case .fp8(let w):
            FP8Linear.multiplyTransposed(x, rows: rows, weight: w, into: y, accumulate: accumulate)
        case .quantized(let w):
            w.multiplyTransposed(x, rows: rows, into: y, accumulate: accumulate)
        }
    }

    /// Bytes held (packed floats for fp32; codes and scales for fp8; the encoded rows for quantised weights, which
    /// may be pages of the mapped checkpoint).
    var bytes: Int {
        switch storage {
        case .fp32(let w): return w.bytes
        case .fp8(let w): return w.bytes
        case .quantized(let w): return w.bytes
        }
    }
}
