import ArgumentParser
import ChatTemplates
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
    @OptionGroup(title: "Logging") var logging: LogOptions

    func run() throws {
        logging.bootstrap()
        let tokenizer: Tokenizer, chat: ChatTemplateConfiguration
        do {
            let checkpoint = try ModelCheckpoint(path: modelOption.resolvedPath())
            tokenizer = try Tokenizer.load(checkpoint: checkpoint)
            chat = try ChatTemplateConfiguration.load(checkpoint: checkpoint, tokenizer: tokenizer)
        } catch let error as ModelFormatError {
            throw ValidationError(error.description)
        }
        let server = try GatewayServer(options: gateway.options(workerSocket: workerSocket), tokenizer: tokenizer, chat: chat)
        try server.run()
    }
}
