import Foundation
import ModelFormats
import WireProtocol

/// The sampling and response settings shared by `/v1/completions` and `/v1/chat/completions`, validated with
/// OpenAI's ranges and defaults; every rejection is an `OpenAIError` naming the parameter.
public struct GenerationParameters: Sendable, Equatable {
    public var model: String?
    /// `max_completion_tokens` or `max_tokens`, else the endpoint's default (see `maxTokensGiven`).
    public var maxTokens: Int
    /// Whether the client set the limit; a default limit is shortened to fit the context instead of refusing.
    public var maxTokensGiven: Bool
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
        maxTokensGiven = maxCompletionTokens != nil || legacyMaxTokens != nil
        temperature = try fields.number("temperature").map(Float.init) ?? 1
        topP = try fields.number("top_p").map(Float.init) ?? 1
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
        presencePenalty = Float(try fields.number("presence_penalty") ?? 0)
        frequencyPenalty = Float(try fields.number("frequency_penalty") ?? 0)
        // The ranges are the validator's (the worker checks the same ones); checked here too, before tokenizing.
        do throws(RequestRejection) {
            try RequestLimits.checkSamplingRanges(temperature: temperature, topP: topP, topK: topK,
                                                  presencePenalty: presencePenalty, frequencyPenalty: frequencyPenalty)
        } catch {
            throw OpenAIError(error)
        }
    }
}

extension GenerationParameters {
    /// How many tokens to generate after a prompt of `promptTokens` in a context of `contextLength` tokens: the
    /// client's limit, which must fit beside the prompt; or the default limit, shortened to the room the prompt
    /// leaves (so a long chat that fits is not refused for a limit the client never asked for).
    func maxTokens(afterPrompt promptTokens: Int, contextLength: Int) throws(OpenAIError) -> Int {
        let room = contextLength - promptTokens
        if maxTokensGiven ? maxTokens <= room : room > 0 { return min(maxTokens, room) }
        let limit = maxTokensGiven ? "max_tokens is \(maxTokens)" : "no room is left to generate"
        throw .invalid("this model's maximum context length is \(contextLength) tokens; the prompt has \(promptTokens) tokens and \(limit)",
                       param: maxTokensGiven ? "max_tokens" : nil, code: "context_length_exceeded")
    }
}
