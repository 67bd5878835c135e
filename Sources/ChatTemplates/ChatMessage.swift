import ModelFormats

/// One message of a chat conversation as a chat template sees it.
///
/// Templates index messages as dicts (`message['role']`, `message.content`, `message.tool_calls`),
/// so a message is rendered from its ``json`` form: `role`, `content` and every ``extra`` field
/// (e.g. `tool_calls`, `tool_call_id`, `name`) side by side.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool`, ...
    public var role: String
    /// A string, a list of content parts (`{"type": "text", "text": ...}`), or null.
    public var content: JSONValue
    /// Any other fields of the message, passed to the template unchanged.
    public var extra: [String: JSONValue]

    public init(role: String, content: JSONValue, extra: [String: JSONValue] = [:]) {
        self.role = role
        self.content = content
        self.extra = extra
    }

    /// A message with plain text content.
    public init(role: String, text: String) {
        self.init(role: role, content: .string(text))
    }

    /// Reads a message object; nil when it is not an object with a string `role`.
    public init?(json: JSONValue) {
        guard var fields = json.object, let role = fields.removeValue(forKey: "role")?.string else { return nil }
        self.role = role
        self.content = fields.removeValue(forKey: "content") ?? .null
        self.extra = fields
    }

    /// The message as the dict a template receives.
    public var json: JSONValue {
        var fields = extra
        fields["role"] = .string(role)
        fields["content"] = content
        return .object(fields)
    }
}
