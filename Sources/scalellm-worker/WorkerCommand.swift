import ArgumentParser
import EngineWorker
import Foundation
import Kernels
import Logging
import ModelFormats

/// `scalellm-worker`: one engine worker process. Loads the model, allocates the KV cache and serves gateways
/// on a Unix domain socket until SIGTERM or SIGINT, then removes its socket file.
@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scalellm-worker", abstract: "Run one ScaleLLM engine worker.")

    @Option(help: "A HuggingFace model directory or a .gguf file (default: SmolLM2-135M-Instruct from .cache/models).")
    var model: String?
    @Option(help: "Unix domain socket path to listen on.") var socket: String
    @Option(help: "KV-cache memory: bytes, e.g. 512MiB, or a fraction of available memory, e.g. 0.2.")
    var kvCacheMemory: String = "256MiB"
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Linear-layer weights: fp32, or fp8 (E4M3, per-output-channel scale, quantised at load).")
    var dtype: WeightPrecision = .fp32

    static func main() {
        OpenBLASCoreType.ensureSetOrReexec()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    func run() throws {
        let log = Logger(label: "scalellm.worker")
        guard let kvBytes = ByteSize(parsing: kvCacheMemory) else { throw ValidationError("--kv-cache-memory '\(kvCacheMemory)' is not a size") }
        Gemm.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let path: String
        let checkpoint: ModelCheckpoint
        do {
            path = try model ?? DefaultModel.locate()
            checkpoint = try ModelCheckpoint(path: path)
        } catch let error as ModelFormatError {
            throw ValidationError(error.description)
        }
        if let advice = OpenBLASCoreType.advice() { log.warning("\(advice)") }
        let started = Date()
        let llama = try LlamaModel(checkpoint: checkpoint, precision: dtype)
        let engine = Engine(model: llama, kvCacheBytes: kvBytes.bytes)
        log.info("loaded \(path) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s: \(dtype) weights \(ByteSize(bytes: llama.weightBytes)), BLAS core \(Gemm.coreName)")
        log.info("KV cache: \(engine.cache.blockCount) blocks of \(engine.cache.layout.blockSize) tokens = \(engine.tokensCapacity) tokens (\(ByteSize(bytes: engine.cache.bytes)))")

        let server = try WorkerServer(engine: engine, modelID: checkpoint.modelID, socketPath: socket)
        signal(SIGPIPE, SIG_IGN)
        let stopSignals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { server.stop() }
            source.resume()
            return source
        }
        log.info("listening on \(socket)")
        server.run()
        stopSignals.forEach { $0.cancel() }
        log.info("stopped")
    }
}

extension WeightPrecision: ExpressibleByArgument {}
