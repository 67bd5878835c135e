import ArgumentParser
import CommandLineOptions
import EngineWorker
import Foundation
import Kernels
import Logging
import ModelFormats

/// `scalellm-worker`: one engine worker process. Loads the model, allocates the KV cache and serves gateways
/// on a Unix domain socket until SIGTERM, SIGINT or the admin socket's `shutdown`, then removes its socket files.
@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scalellm-worker", abstract: "Run one ScaleLLM engine worker.")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Unix domain socket path to listen on.") var socket: String
    @Option(help: "Admin socket path (newline-delimited JSON: status, drain, shutdown; mode 0600; default: <socket>.admin).")
    var adminSocket: String?
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @OptionGroup(title: "Engine") var engineOptions: EngineOptions

    static func main() { mainWithTunedBLAS() }

    func run() throws {
        let log = Logger(label: "scalellm.worker")
        Gemm.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let path = try modelOption.resolvedPath()
        let checkpoint: ModelCheckpoint
        do { checkpoint = try ModelCheckpoint(path: path) } catch { throw ValidationError(error.description) }
        if let advice = OpenBLASCoreType.advice() { log.warning("\(advice)") }
        let started = Date()
        let precision = engineOptions.dtypeOption.dtype
        let llama = try LlamaModel(checkpoint: checkpoint, precision: precision)
        let configuration = engineOptions.configuration
        let engine = Engine(model: llama, configuration: configuration)
        log.info("loaded \(path) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s: \(precision) weights \(ByteSize(bytes: llama.weightBytes)), BLAS core \(Gemm.coreName)")
        log.info("KV cache: \(engine.cache.blockCount) blocks of \(engine.cache.layout.blockSize) tokens = \(engine.tokensCapacity) tokens (\(ByteSize(bytes: engine.cache.bytes))), prefix caching \(configuration.prefixCaching ? "on" : "off"), at most \(configuration.scheduler.maxBatchedTokens) tokens and \(configuration.scheduler.maxSequences) sequences per step")

        let adminPath = adminSocket ?? socket + ".admin"
        let server = try WorkerServer(engine: engine, modelID: checkpoint.modelID, socketPath: socket, adminSocketPath: adminPath)
        signal(SIGPIPE, SIG_IGN)
        let stopSignals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { server.stop() }
            source.resume()
            return source
        }
        log.info("listening on \(socket), admin socket \(adminPath)")
        server.run()
        stopSignals.forEach { $0.cancel() }
        log.info("stopped")
    }
}
