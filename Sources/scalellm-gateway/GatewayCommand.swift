import ArgumentParser
import CommandLineOptions
import Gateway
import Logging
import ModelFormats
import Tokenizers

/// `scalellm-gateway`: the HTTP front process. Loads only the tokenizer of the model (the worker holds the
/// weights) and serves the OpenAI-style API, forwarding requests to the engine worker's Unix socket.
@main
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scalellm-gateway", abstract: "Run the ScaleLLM HTTP gateway.")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "The engine worker's Unix socket.") var workerSocket: String
    @OptionGroup(title: "Gateway") var gateway: GatewayFlags

    func run() throws {
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer.load(checkpoint: ModelCheckpoint(path: modelOption.resolvedPath()))
        } catch let error as ModelFormatError {
            throw ValidationError(error.description)
        }
        let server = try GatewayServer(options: gateway.options(workerSocket: workerSocket), tokenizer: tokenizer)
        try server.run()
    }
}
