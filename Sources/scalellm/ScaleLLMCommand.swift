import ArgumentParser
import CommandLineOptions
import Kernels

/// The front CLI: one binary whose subcommands start the server, run the model directly, and (later) benchmark
/// and administer it.
@main
struct ScaleLLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scalellm",
        abstract: "ScaleLLM: a resource-frugal LLM server with an OpenAI-compatible API.",
        subcommands: [ServeCommand.self, GenerateCommand.self, BenchCommand.self])

    static func main() { mainWithTunedBLAS() }
}
