import Foundation
import ModelFormats

/// The sampling and response settings shared by `/v1/completions` and `/v1/chat/completions`, validated with
/// OpenAI's ranges and defaults; every rejection is an `OpenAIError` naming the parameter.
public struct GenerationParameters: Sendable, Equatable {
    public var model: String?
    public var maxTokens: Int
    public var temperature: Float
    public var topP: Float
    public var topK: Int
    public var seed: UInt64?
    public var stream: Bool
    public var includeUsage: Bool
    public var ignoreEOS: Bool
    /// Strings that end the completion when generated (not included in the output).
    public var stop: [String]
    /// The end user, for the operator's logs (accepted, not interpreted).
    public var user: String?
    /// Number of choices to generate.
    public var n: Int
    public var presencePenalty: Float
    public var frequencyPenalty: Float

    init(_ object: [String: JSONValue], defaultMaxTokens: Int) throws(OpenAIError) {
        let fields = JSONFields(object)
        model = try fields.string("model")
        let maxCompletionTokens = try fields.integer("max_completion_tokens", in: 1...1_000_000)
        let legacyMaxTokens = try fields.integer("max_tokens", in: 1...1_000_000)
        maxTokens = maxCompletionTokens ?? legacyMaxTokens ?? defaultMaxTokens
        temperature = try fields.number("temperature", in: 0...2).map(Float.init) ?? 1
        topP = try fields.number("top_p", in: 0...1).map(Float.init) ?? 1
        guard topP > 0 else { throw .invalid("'top_p' must be greater than 0", param: "top_p") }
        topK = try fields.integer("top_k", in: -1...1_000_000).map { max($0, 0) } ?? 0
        seed = try fields.integer("seed", in: Int.min...Int.max).map { UInt64(bitPattern: Int64($0)) }
        stream = try fields.bool("stream") ?? false
        ignoreEOS = try fields.bool("ignore_eos") ?? false
        switch object["stream_options"] {
        case nil, .null?: includeUsage = false
        case .object(let options)?: includeUsage = try JSONFields(options).bool("include_usage") ?? false
        default: throw .invalid("'stream_options' must be an object", param: "stream_options")
        }
        user = try fields.string("user")
        switch object["stop"] {
        case nil, .null?: stop = []
        case .string(let single)?: stop = [single]
        case .array(let list)? where list.count <= 16:
            let strings = list.compactMap(\.string)
            guard strings.count == list.count else { throw .invalid("'stop' must be a string or an array of strings", param: "stop") }
            stop = strings
        default: throw .invalid("'stop' must be a string or an array of at most 16 strings", param: "stop")
        }
        n = try fields.integer("n", in: 1...16) ?? 1
        presencePenalty = Float(try fields.number("presence_penalty", in: -2...2) ?? 0)
        frequencyPenalty = Float(try fields.number("frequency_penalty", in: -2...2) ?? 0)
    }
}

/// A validated `POST /v1/completions` body: a prompt (text, or token ids) and the generation parameters.
public struct CompletionRequest: Sendable, Equatable {
    public enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens([Int32])
    }

    public var prompt: Prompt
    public var parameters: GenerationParameters
    /// nil: no logprobs; otherwise how many alternatives to report per token (the `logprobs` integer).
    public var topLogprobs: Int?

    /// OpenAI's default for `max_tokens` on completions.
    public static let defaultMaxTokens = 16

    public init(json body: [UInt8]) throws(OpenAIError) {
        guard case .object(let object) = try JSONValue.parseRequestBody(body) else { throw .invalid("the request body must be a JSON object") }
        switch object["prompt"] {
        case .string(let text): prompt = .text(text)
        case .array(let list) where !list.isEmpty:
            if list.count == 1, case .string(let text) = list[0] {
                prompt = .text(text)
            } else {
                let ids = list.compactMap { $0.int }
                guard ids.count == list.count, ids.allSatisfy({ Int32(exactly: $0) != nil }) else {
                    throw .invalid("'prompt' must be a string, a one-element array of strings, or an array of token ids", param: "prompt")
                }
                prompt = .tokens(ids.map { Int32($0) })
            }
        case nil, .null?: throw .invalid("'prompt' is required", param: "prompt", code: "missing_required_parameter")
        default: throw .invalid("'prompt' must be a string or an array of token ids", param: "prompt")
        }
        parameters = try GenerationParameters(object, defaultMaxTokens: Self.defaultMaxTokens)
        topLogprobs = try JSONFields(object).integer("logprobs", in: 0...20)
    }
}

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

/// Typed access to a JSON object's fields with OpenAI-style errors for wrong types and ranges.
struct JSONFields {
    let object: [String: JSONValue]
    init(_ object: [String: JSONValue]) { self.object = object }

    private func present(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(OpenAIError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw .invalid("'\(key)' must be a string", param: key) }
        return s
    }

    func bool(_ key: String) throws(OpenAIError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw .invalid("'\(key)' must be a boolean", param: key) }
        return b
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(OpenAIError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let d = value.double else { throw .invalid("'\(key)' must be a number", param: key) }
        guard range.contains(d) else {
            throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(d)", param: key)
        }
        return d
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(OpenAIError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let n = value.int else { throw .invalid("'\(key)' must be an integer", param: key) }
        guard range.contains(n) else {
            throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(n)", param: key)
        }
        return n
    }
}
