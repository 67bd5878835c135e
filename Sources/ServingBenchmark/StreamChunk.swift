import Foundation

/// What one SSE `data` payload of an OpenAI streaming response says, for timing purposes: whether it carries
/// tokens (text, or a finish reason), the usage counts if present, an error if the server reported one, or the
/// `[DONE]` end marker. Both completion chunks (`choices[].text`) and chat chunks (`choices[].delta.content`, or
/// `delta.reasoning_content`) are understood; a chat chunk carrying only a role is not a token chunk.
public struct StreamChunk: Equatable, Sendable {
    public var isDone = false
    public var carriesTokens = false
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var error: String?

    public init(isDone: Bool = false, carriesTokens: Bool = false, finishReason: String? = nil, promptTokens: Int? = nil,
                completionTokens: Int? = nil, error: String? = nil) {
        self.isDone = isDone
        self.carriesTokens = carriesTokens
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.error = error
    }

    /// Interprets one event's data. Data that is not JSON is reported as an error.
    public init(data: String) {
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            isDone = true
            return
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] else {
            error = "stream event is not a JSON object: \(data.prefix(80))"
            return
        }
        if let failure = object["error"] {
            if let detail = failure as? [String: Any], let message = detail["message"] as? String {
                error = "server error: \(message)"
            } else {
                error = "server error: \(failure)"
            }
            return
        }
        if let choices = object["choices"] as? [[String: Any]] {
            for choice in choices {
                var text = choice["text"] as? String ?? ""
                if let delta = choice["delta"] as? [String: Any] {
                    text += (delta["content"] as? String ?? "") + (delta["reasoning_content"] as? String ?? "")
                }
                if let reason = choice["finish_reason"] as? String { finishReason = reason }
                if !text.isEmpty || choice["finish_reason"] is String { carriesTokens = true }
            }
        }
        if let usage = object["usage"] as? [String: Any] {
            promptTokens = (usage["prompt_tokens"] as? NSNumber)?.intValue
            completionTokens = (usage["completion_tokens"] as? NSNumber)?.intValue
        }
    }
}
