import Foundation
import ModelFormats

/// The chat template and special tokens of a model directory, as transformers reads them.
///
/// The template comes from `chat_template.jinja` beside `tokenizer_config.json` when that file
/// exists (transformers lets it override the config), otherwise from the config's
/// `chat_template`: a string, or a list of `{"name", "template"}` objects from which the one named
/// `default` is used. `bos_token`/`eos_token` may be strings or added-token objects (`content`).
public struct ChatTemplateConfiguration: Sendable {
    /// The template, or nil when the model has none (use ``ChatTemplate/fallback``).
    public var template: ChatTemplate?
    public var bosToken: String?
    public var eosToken: String?

    public static func load(tokenizerConfig path: String) throws -> ChatTemplateConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ChatTemplateError.invalidConfig(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw ChatTemplateError.invalidConfig(path: path, message: "not valid JSON")
        }
        guard json.object != nil else { throw ChatTemplateError.invalidConfig(path: path, message: "not a JSON object") }

        var source: String? = nil
        let sibling = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("chat_template.jinja")
        if let data = FileManager.default.contents(atPath: sibling.path) {
            guard let text = String(data: data, encoding: .utf8) else {
                throw ChatTemplateError.invalidConfig(path: sibling.path, message: "not UTF-8 text")
            }
            source = text
        } else {
            switch json["chat_template"] {
            case nil, .null?:
                break
            case .string(let s)?:
                source = s
            case .array(let entries)?:
                let named = entries.first { $0["name"]?.string == "default" }
                guard let template = named?["template"]?.string else {
                    throw ChatTemplateError.invalidConfig(path: path, message: "chat_template lists several templates but none named 'default'")
                }
                source = template
            default:
                throw ChatTemplateError.invalidConfig(path: path, message: "chat_template must be a string or a list of {name, template}")
            }
        }
        func token(_ key: String) -> String? {
            switch json[key] {
            case .string(let s)?: return s
            case .object(let o)?: return o["content"]?.string
            default: return nil
            }
        }
        return ChatTemplateConfiguration(template: try source.map { try ChatTemplate(source: $0) },
                                         bosToken: token("bos_token"), eosToken: token("eos_token"))
    }
}

extension ChatTemplate {
    /// The chat template of a model, read from its `tokenizer_config.json` (see
    /// ``ChatTemplateConfiguration``); nil when the model has none. Throws
    /// ``ChatTemplateError/invalidConfig(path:message:)`` for unreadable or malformed files and
    /// ``ChatTemplateError/syntax(line:column:message:)`` for templates that do not parse.
    public static func load(tokenizerConfig path: String) throws -> ChatTemplate? {
        try ChatTemplateConfiguration.load(tokenizerConfig: path).template
    }
}
