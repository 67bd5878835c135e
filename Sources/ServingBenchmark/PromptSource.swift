import Foundation

/// Where request prompts come from: a file (`--prompts FILE`, used in order and cycled), or synthetic prompts of
/// about L words (`--random-input-len L`) that are deterministic per request index and seed but differ between
/// requests, so a server's prefix cache cannot answer them for free.
public enum PromptSource: Sendable {
    case list([String])
    case synthetic(words: Int, seed: UInt64)

    /// An error reading a prompts file.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads prompts from a file: one prompt per non-empty line, or JSON Lines whose objects have a string
    /// `prompt` field (a line starting with `{` is read as JSON).
    public static func load(file path: String) throws -> PromptSource {
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError(description: "cannot read prompts file '\(path)'") }
        return try parse(String(decoding: data, as: UTF8.self), name: path)
    }

    /// Parses prompts-file text (see `load(file:)`); `name` is used in errors.
    public static func parse(_ text: String, name: String = "prompts") throws -> PromptSource {
        var prompts: [String] = []
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("{") {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                      let prompt = object["prompt"] as? String else {
                    throw LoadError(description: "\(name):\(number + 1): a JSON line needs a string \"prompt\" field")
                }
                prompts.append(prompt)
            } else {
                prompts.append(line)
            }
        }
        guard !prompts.isEmpty else { throw LoadError(description: "\(name) has no prompts") }
        return .list(prompts)
    }

    /// The prompt of request `index` (any non-negative integer).
    public func prompt(at index: Int) -> String {
        switch self {
        case .list(let prompts):
            return prompts[index % prompts.count]
        case .synthetic(let words, let seed):
            return Self.syntheticPrompt(words: words, seed: seed, index: index)
        }
    }

    /// A description for reports.
    public var summary: String {
        switch self {
        case .list(let prompts): return "\(prompts.count) prompts from a file"
        case .synthetic(let words, let seed): return "random input of \(words) words (seed \(seed))"
        }
    }

    /// Common English words the synthetic prompts are drawn from.
    static let vocabulary = """
        the a of and to in is was that it for on with as his he at by this had from not are but be have which one \
        you were her all she there would their we him been has when who will more no if out so said what up its about \
        into than them can only other new some could time these two may then do first any my now such like our over \
        man me even most made after also did many before must through back years where much your way well down should \
        because each just those people how too little state good very make world still own see men work long get here \
        between both life being under never day same another know while last might us great old year off come since \
        against go came right used take three house river garden morning story light water small children village
        """.split(whereSeparator: \.isWhitespace).map(String.init)

    /// `words` words drawn from `vocabulary` by a generator seeded from `seed` and `index`, starting with a
    /// capital and ending with a full stop.
    static func syntheticPrompt(words: Int, seed: UInt64, index: Int) -> String {
        var generator = SeededGenerator(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(truncatingIfNeeded: index) &+ 1)
        var chosen: [String] = []
        chosen.reserveCapacity(words)
        for _ in 0..<max(words, 1) { chosen.append(vocabulary[Int(generator.next() % UInt64(vocabulary.count))]) }
        chosen[0] = chosen[0].prefix(1).uppercased() + chosen[0].dropFirst()
        return chosen.joined(separator: " ") + "."
    }
}
