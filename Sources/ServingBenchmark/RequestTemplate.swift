import Foundation

/// The OpenAI API route the benchmark calls.
public enum Endpoint: String, Codable, Sendable, CaseIterable {
    /// `POST /v1/completions` with `prompt`.
    case completions
    /// `POST /v1/chat/completions` with one user message.
    case chat

    /// The route under `/v1`.
    public var route: String { self == .completions ? "completions" : "chat/completions" }
}

/// The JSON body of every benchmark request except its prompt: always streamed, with
/// `stream_options: {include_usage: true}` so the server reports its own token counts.
public struct RequestTemplate: Sendable {
    public var endpoint: Endpoint
    /// The `model` field; omitted when nil (servers with one model accept that).
    public var model: String?
    public var maxTokens: Int
    public var temperature: Double
    /// Sends `ignore_eos: true` so every request generates exactly `maxTokens` (vLLM, llama.cpp and ScaleLLM
    /// accept it).
    public var ignoreEOS: Bool

    public init(endpoint: Endpoint = .completions, model: String? = nil, maxTokens: Int, temperature: Double = 0, ignoreEOS: Bool = true) {
        self.endpoint = endpoint
        self.model = model
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.ignoreEOS = ignoreEOS
    }

    /// The UTF-8 JSON body for `prompt`.
    public func body(prompt: String) -> [UInt8] {
        var object: [String: Any] = [
            "max_tokens": maxTokens,
            "temperature": temperature,
            "stream": true,
            "stream_options": ["include_usage": true],
        ]
        switch endpoint {
        case .completions: object["prompt"] = prompt
        case .chat: object["messages"] = [["role": "user", "content": prompt]]
        }
        if let model { object["model"] = model }
        if ignoreEOS { object["ignore_eos"] = true }
        // Only strings, numbers, booleans, arrays and dictionaries: serialization cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }
}
