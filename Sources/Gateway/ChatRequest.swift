import Foundation
import ModelFormats

/// A validated `POST /v1/chat/completions` body: the conversation (rendered later with the model's chat
/// template) and the generation parameters.
public struct ChatRequest: Sendable, Equatable {
    /// The messages as JSON objects with a string `role` and a `content` that is a string, a list of parts, or null.
    public var messages: [JSONValue]
    public var parameters: GenerationParameters
    /// nil: no logprobs; otherwise how many alternatives per token (`logprobs: true` with `top_logprobs`).
    public var topLogprobs: Int?
    /// `add_generation_prompt` for the template (an extension; true unless the client continues a message).
    public var addGenerationPrompt: Bool
    /// Tool definitions, passed to templates that render them.
    public var tools: JSONValue?

    /// Chat completions have no documented default; generate until EOS or the context fills, capped here.
    public static let defaultMaxTokens = 1024

    public init(json body: [UInt8]) throws(OpenAIError) {
        guard case .object(let object) = try JSONValue.parseRequestBody(body) else { throw .invalid("the request body must be a JSON object") }
        guard case .array(let messages)? = object["messages"], !messages.isEmpty else {
            throw .invalid("'messages' must be a non-empty array of {role, content} objects", param: "messages",
                           code: object["messages"] == nil ? "missing_required_parameter" : nil)
        }
        for (i, message) in messages.enumerated() {
            guard case .object(let fields) = message, case .string? = fields["role"] else {
                throw .invalid("messages[\(i)] must be an object with a string 'role'", param: "messages")
            }
            switch fields["content"] {
            case .string?, .array?, .null?, nil: break
            default: throw .invalid("messages[\(i)].content must be a string, an array of parts, or null", param: "messages")
            }
        }
        self.messages = messages
        parameters = try GenerationParameters(object, defaultMaxTokens: Self.defaultMaxTokens)
        let fields = JSONFields(object)
        let wantsLogprobs = try fields.bool("logprobs") ?? false
        let top = try fields.integer("top_logprobs", in: 0...20)
        if top != nil && !wantsLogprobs { throw .invalid("'top_logprobs' requires 'logprobs': true", param: "top_logprobs") }
        topLogprobs = wantsLogprobs ? (top ?? 0) : nil
        addGenerationPrompt = try fields.bool("add_generation_prompt") ?? true
        tools = object["tools"].flatMap { $0 == .null ? nil : $0 }
    }
}
