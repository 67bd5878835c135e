import Foundation

/// Locates the project's shared data (real models and HuggingFace golden outputs), which sits beside the
/// checkout as `../shared`, and reads the golden JSON files the tests compare against.
public enum SharedData {
    /// `<checkout>/../shared`, found from this source file's path so tests work from any clone location.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared")

    public static let storiesDirectory = root.appendingPathComponent("models/stories260K").path
    public static let smolLMDirectory = root.appendingPathComponent("models/smollm2-135m-instruct-q4_1").path
    public static let smolLMGGUF = smolLMDirectory + "/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The tiny per-family checkpoints of `golden/arch-fixtures/<family>/` (see `golden/README.md`), by family.
    public static let archFixtureFamilies = ["qwen2", "qwen3", "mistral-sliding-window", "phi3", "llama3-rope", "gemma2", "gemma3",
                                             "mixtral-moe"]
    /// The directory of one of `archFixtureFamilies`.
    public static func archFixtureDirectory(_ family: String) -> String {
        root.appendingPathComponent("golden/arch-fixtures/\(family)").path
    }

    /// The parsed `golden/<model>/<file>` JSON object.
    public static func golden(_ model: String, _ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("golden/\(model)/\(file)"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The cases of a golden file.
    public static func goldenCases(_ model: String, _ file: String) throws -> [[String: Any]] {
        try golden(model, file)["cases"] as! [[String: Any]]
    }
}

extension Dictionary where Key == String, Value == Any {
    /// An integer array field of a golden case as token ids.
    public func tokenIDs(_ key: String) -> [Int32] { (self[key] as! [NSNumber]).map { Int32($0.intValue) } }
}

extension SharedData {
    /// The cases of an architecture fixture's `golden.json`.
    public static func archFixtureCases(_ family: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: archFixtureDirectory(family) + "/golden.json"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["cases"] as! [[String: Any]]
    }
}
