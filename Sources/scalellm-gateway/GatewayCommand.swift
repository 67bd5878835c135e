import ArgumentParser
import Gateway
import Logging
import ModelFormats
import Tokenizers

/// `scalellm-gateway`: the HTTP front process. Loads only the tokenizer of the model (the worker holds the
/// weights) and serves the OpenAI-style API, forwarding requests to the engine worker's Unix socket.
@main
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scalellm-gateway", abstract: "Run the ScaleLLM HTTP gateway.")

    @Option(help: "The model the worker serves (its tokenizer is loaded here); default: SmolLM2-135M-Instruct.") var model: String?
    @Option(help: "The engine worker's Unix socket.") var workerSocket: String
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "TCP port (0: any free port).") var port: Int = 8000
    @Option(help: "Largest accepted request body in bytes.") var maxBodyBytes: Int = 1 << 20

    func run() throws {
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer.load(checkpoint: ModelCheckpoint(path: model ?? DefaultModel.locate()))
        } catch let error as ModelFormatError {
            throw ValidationError(error.description)
        }
        let server = try GatewayServer(options: GatewayOptions(host: host, port: port, workerSocket: workerSocket,
                                                               maxBodyBytes: maxBodyBytes), tokenizer: tokenizer)
        try server.run()
    }
}
