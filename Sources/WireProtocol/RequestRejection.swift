/// A request that breaks one of the `RequestLimits` rules, with a message meant for the API user.
///
/// Exists so that the engine, the worker and the gateway refuse a request in the same words and with the same
/// typed `code` and `param`, whichever of them notices first.
public enum RequestRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyPrompt
    /// `maxTokens` below 1: the engine samples at least one token per request, so it cannot honour 0.
    case invalidMaxTokens(Int)
    case tokenOutOfRange(Int32, vocabSize: Int)
    case contextExceeded(promptTokens: Int, maxTokens: Int, contextLength: Int)
    case insufficientKVCache(neededBlocks: Int, totalBlocks: Int)
    /// A number outside its range, or not finite.
    case outOfRange(param: String, value: String, allowed: String)

    public var code: ErrorCode {
        switch self {
        case .emptyPrompt, .invalidMaxTokens, .tokenOutOfRange, .outOfRange: return .invalidRequest
        case .contextExceeded: return .contextLengthExceeded
        case .insufficientKVCache: return .kvCacheTooSmall
        }
    }

    /// The request field at fault, as the OpenAI API names it.
    public var param: String {
        switch self {
        case .emptyPrompt, .tokenOutOfRange: return "prompt"
        case .invalidMaxTokens, .contextExceeded, .insufficientKVCache: return "max_tokens"
        case .outOfRange(let param, _, _): return param
        }
    }

    public var description: String {
        switch self {
        case .emptyPrompt: return "the prompt is empty"
        case .invalidMaxTokens(let m): return "max_tokens must be at least 1, got \(m)"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary (0..<\(v))"
        case .contextExceeded(let p, let m, let c):
            return "this model's maximum context length is \(c) tokens; the prompt has \(p) tokens and max_tokens is \(m) (\(p + m) in total)"
        case .insufficientKVCache(let needed, let total):
            return "the request needs \(needed) KV-cache blocks but the cache has only \(total); raise --kv-cache-memory or lower max_tokens"
        case .outOfRange(let param, let value, let allowed):
            return "'\(param)' must be \(allowed), got \(value)"
        }
    }
}
