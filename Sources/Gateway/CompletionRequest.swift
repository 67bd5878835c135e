import Foundation
import ModelFormats

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
