import Foundation
import Kernels
import ModelFormats

extension LinearBenchCommand {
    /// The integer kernel on a real model's weights: every quantised 2-D tensor of the GGUF file (the tied
    /// embedding included, since it is the LM head) as one `QuantizedMatrix` over the mapped file, and per ggml type
    /// the time to multiply all of that type's matrices once — what each type costs a decode step, so that a change
    /// to one type's kernel shows in its own row (a model's Q/K/V and gate/up are fused at load, which this does
    /// not do: shapes are the file's).
    func runQuantizedMatrices(of path: String) throws {
        let file = try GGUFFile(path: path)
        var byType: [TensorType: [QuantizedMatrix]] = [:]
        for name in file.tensorNames {
            guard let tensor = file.tensors[name], tensor.type.isQuantized, tensor.shape.count == 2 else { continue }
            let (rows, columns) = (tensor.shape[0], tensor.shape[1])
            let rowBytes = tensor.type.byteCount(elements: columns)!
            let matrix = QuantizedMatrix(rows: (0..<rows).map {
                QuantizedMatrix.Row(pointer: tensor.bytes.baseAddress! + $0 * rowBytes, ggmlType: tensor.type.ggmlType)
            }, columns: columns, owners: [file.file])
            byType[tensor.type, default: []].append(matrix)
        }
        let types = byType.keys.sorted { $0.ggmlType < $1.ggmlType }
        let maxRows = rows.max() ?? 1, maxWidth = byType.values.joined().map { max($0.rows, $0.columns) }.max() ?? 1
        let x = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * maxWidth)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * maxWidth)
        var generator = SplitMix64(seed: 1)
        for i in 0..<(maxRows * maxWidth) { x[i] = generator.nextGaussianish() }
        print("model: \(path); integer kernel: \(InstructionSet.best), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("")
        print("| m | type | matrices | MB | ms per model pass | GB/s |")
        print("|---:|---|---:|---:|---:|---:|")
        for m in rows {
            for type in types {
                let matrices = byType[type]!, bytes = matrices.reduce(0) { $0 + $1.bytes }
                let seconds = median((0..<runs).map { _ in time { for matrix in matrices { matrix.multiplyTransposed(x, rows: m, into: y) } } })
                print(String(format: "| %d | %@ | %d | %.1f | %.2f | %.1f |", m, type.rawValue, matrices.count, Double(bytes) / 1e6,
                             seconds * 1e3, Double(bytes) / seconds / 1e9))
            }
        }
    }
}
