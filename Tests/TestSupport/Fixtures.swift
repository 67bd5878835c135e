import Foundation

/// Files the tests share that live in the repository, under `Tests/Fixtures` (unlike `SharedData`, which sits
/// beside the checkout).
public enum Fixtures {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// An original children's story of about 500 words, written for the perplexity tests and docs/perplexity.md.
    public static let perplexityPassage = root.appendingPathComponent("perplexity/passage.txt").path

    /// The text of `perplexityPassage`.
    public static func perplexityText() throws -> String {
        try String(contentsOfFile: perplexityPassage, encoding: .utf8)
    }
}
