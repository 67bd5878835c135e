import BLAS
import ArgumentParser
import Foundation
import Kernels
import ModelFormats

/// `scalellm bench linear`: the linear layers of a SmolLM2-135M-shaped model (30 layers of QKV, output, gate/up
/// and down, plus the LM head; random weights, each matrix allocated separately so that nothing stays in cache)
/// multiplied with fp32 weights (packed panels, or OpenBLAS on the row-major weights), with fp8 weights (packed
/// panels decoded inside the product) and with Q4_0 / Q8_0 GGUF blocks (the integer kernel), for decode steps of a
/// few sequences and a prefill chunk: how the kernels compare with OpenBLAS and with the memory they read.
/// With `--model`, a GGUF file's own quantised matrices instead, timed type by type (see LinearBenchCommand+GGUF).
struct LinearBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "linear", abstract: "fp32, fp8 and quantised linear layers of a 135M model.")

    @Option(help: "Activation rows (tokens) to measure: decode steps of 1..8 sequences and a prefill chunk.")
    var rows: [Int] = [1, 2, 4, 8, 256]
    @Option(help: "Repetitions; the median is reported.") var runs: Int = 5
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "A GGUF file: time its own quantised matrices with the integer kernel, grouped by ggml type, instead of the 135M shapes.")
    var model: String?

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        OpenBLASEnvironment.ensureSetOrReexec()
        Gemm.setThreadCount(threadCount)
        ParallelLoop.setThreadCount(threadCount)
        if let model { return try runQuantizedMatrices(of: model) }
        let hidden = 576, intermediate = 1536, kv = 192, layers = 30, vocab = 49152
        let layerShapes = [(hidden + 2 * kv, hidden), (hidden, hidden), (2 * intermediate, hidden), (hidden, intermediate)]
        let shapes = Array(repeating: layerShapes, count: layers).flatMap { $0 } + [(vocab, hidden)]
        var generator = SplitMix64(seed: 1)
        let fp32 = shapes.map { (n, k) in
            let b = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
            for i in 0..<(n * k) { b[i] = generator.nextGaussianish() * 0.05 }
            return b
        }
        let packed = zip(shapes, fp32).map { shape, values in PackedMatrix(rows: shape.0, columns: shape.1, values: values) }
        let fp8 = zip(shapes, fp32).map { shape, values in FP8Matrix(rows: shape.0, columns: shape.1, values: values) }
        let quantized = [TensorType.q4_0, .q8_0].map { type in
            (type.rawValue, zip(shapes, fp32).map { shape, values in
                QuantizedMatrix(quantizing: values, rows: shape.0, columns: shape.1, ggmlType: type.ggmlType)
            })
        }
        let fp32Bytes = shapes.reduce(0) { $0 + $1.0 * $1.1 * 4 }, fp8Bytes = fp8.reduce(0) { $0 + $1.bytes }
        let maxWidth = 2 * intermediate + vocab
        let maxRows = rows.max() ?? 1
        let x = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * maxWidth)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * vocab)
        for i in 0..<(maxRows * maxWidth) { x[i] = generator.nextGaussianish() }

        func sweep(_ body: (Int, (Int, Int)) -> Void) -> Double {
            median((0..<runs).map { _ in time { for (i, s) in shapes.enumerated() { body(i, s) } } })
        }
        print("weights: fp32 \(fp32Bytes / 1_000_000) MB, fp8 \(fp8Bytes / 1_000_000) MB; \(threadCount) kernel and BLAS threads, BLAS core \(Gemm.coreName); fp8 decoding: \(InstructionSet.best)")
        print("")
        print("| m | variant | ms per model pass | weight GB/s (of its own format) |")
        print("|---:|---|---:|---:|")
        for m in rows {
            func report(_ name: String, _ seconds: Double, bytes: Int) {
                print(String(format: "| %d | %@ | %.2f | %.1f |", m, name, seconds * 1e3, Double(bytes) / seconds / 1e9))
            }
            report("fp32 OpenBLAS \(m == 1 ? "sgemv" : "sgemm")", sweep { i, s in
                Gemm.multiplyTransposed(x, rows: m, inner: s.1, weight: fp32[i], outputs: s.0, into: y)
            }, bytes: fp32Bytes)
            report("fp32 packed", sweep { i, _ in packed[i].multiplyTransposed(x, rows: m, into: y) }, bytes: fp32Bytes)
            report("fp8 packed", sweep { i, _ in FP8Linear.multiplyTransposed(x, rows: m, weight: fp8[i], into: y) }, bytes: fp8Bytes)
            for (name, matrices) in quantized {
                report("\(name) integer (\(InstructionSet.best))", sweep { i, _ in matrices[i].multiplyTransposed(x, rows: m, into: y) },
                       bytes: matrices.reduce(0) { $0 + $1.bytes })
            }
        }
        // Decoding alone, one thread: the floor under any fp8 step.
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: FP8Matrix.panelRows * 2 * intermediate)
        for isa in InstructionSet.available {
            let seconds = sweep { i, _ in for p in 0..<fp8[i].panelCount { fp8[i].dequantizePanel(p, into: panel, instructionSet: isa) } }
            print(String(format: "decoding alone (%@, 1 thread, panel by panel): %.2f ms per model pass = %.2f G weights/s",
                         isa.description, seconds * 1e3, Double(shapes.reduce(0) { $0 + $1.0 * $1.1 }) / seconds / 1e9))
        }
    }
}

extension SplitMix64 {
    /// Sum of four uniforms, centred: roughly normal with unit variance (benchmark weights).
    mutating func nextGaussianish() -> Float {
        var s: Float = 0
        for _ in 0..<4 { s += Float(next() >> 40) / Float(1 << 24) }
        return (s - 2) * 1.732
    }
}
