import ArgumentParser
import CommandLineOptions
import Kernels

/// The front CLI: one binary whose subcommands start the server, run the model directly, benchmark, and
/// administer a running worker.
@main
struct ScaleLLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scalellm",
        abstract: "ScaleLLM: a resource-frugal LLM server with an OpenAI-compatible API.",
        subcommands: [ServeCommand.self, GenerateCommand.self, PerplexityCommand.self, BenchCommand.self, AdminCommand.self])

}
