import Foundation
import ModelFormats

/// A model's chat template (the Jinja `chat_template` of its `tokenizer_config.json`), parsed once
/// and rendered for each request.
///
/// Rendering follows HuggingFace transformers' `apply_chat_template`: the template sees
/// `messages`, `add_generation_prompt`, `bos_token` and `eos_token` (each token only when known),
/// `tools` and `documents` (None unless given in `extra`), plus every other `extra` variable; the
/// globals `raise_exception(msg)` (→ ``ChatTemplateError/raised(_:)``), `strftime_now(fmt)`,
/// `range`, `namespace` and `dict` are available, and whitespace is handled with
/// `trim_blocks`/`lstrip_blocks` as transformers configures Jinja.
///
/// Models without a template use ``fallback``, a plain transcript:
/// every message renders as `"<role>: <content>\n"` (for content given as a list of parts, the
/// `text` of its `{"type": "text"}` parts joined without separator; null content renders empty),
/// and `add_generation_prompt` appends `"assistant:"`. No BOS/EOS tokens are inserted.
///
/// Rendering many times is cheap (no re-parsing) and thread-safe: each render has its own state.
///
/// Supported Jinja: `{{ }}`, `{% %}`, `{# #}`, whitespace control, `raw`; `if/elif/else`, `for`
/// (unpacking, `if` filter, `else`, `recursive`, `loop.*`, `break`/`continue`), `set` (also
/// `ns.attr` and block form), `macro`, `call`, `filter`, `with`, `generation`; Python literals,
/// operators, slices, `str`/`dict`/`list` methods, `%` formatting, and the filters and tests listed
/// in `Filters.swift` and `JinjaTests.swift`. Differences from transformers' Jinja environment:
/// - attribute or item access on an undefined value yields undefined (Jinja raises);
/// - JSON objects reach the template with sorted keys (``JSONValue`` keeps no key order), which
///   shows in `tojson` output and dict iteration order;
/// - `map`, `select`, `reject`, `unique`, `reverse`, `items` and `range` return lists rather than
///   lazy iterators (only visible when such a value is printed directly);
/// - `safe`/`escape` results and macro output are plain strings (no Markup auto-escaping rules);
/// - not supported: `include`/`import`/`extends`/`block`, `do`, i18n tags, `cycler`/`joiner`/`lipsum`,
///   the filters `groupby batch slice truncate wordwrap wordcount center urlencode xmlattr pprint
///   random filesizeformat striptags`, `str.format`, integers beyond 64 bits and complex numbers.
public struct ChatTemplate: Sendable {
    /// The template source as given.
    public let source: String
    /// The limits applied to every render.
    public let limits: ChatTemplateLimits
    let body: [Node]

    /// Parses `source`, throwing ``ChatTemplateError/syntax(line:column:message:)`` when it is not
    /// valid in the supported Jinja subset.
    public init(source: String) throws(ChatTemplateError) {
        try self.init(source: source, limits: .standard)
    }

    /// Parses `source` with custom safety limits.
    public init(source: String, limits: ChatTemplateLimits) throws(ChatTemplateError) {
        self.source = source
        self.limits = limits
        self.body = try Parser.parse(source, limits: limits)
    }

    /// Renders a conversation given as message objects (`{"role": ..., "content": ...}`).
    ///
    /// - Parameters:
    ///   - addGenerationPrompt: whether to end with the header that starts an assistant reply.
    ///   - bosToken, eosToken: the tokenizer's special tokens; nil leaves them undefined.
    ///   - extra: further template variables (`tools`, `documents`, `date_string`, ...); they
    ///     override the standard ones.
    ///   - now, timeZone: the clock behind `strftime_now`.
    public func render(messages: [JSONValue], addGenerationPrompt: Bool, bosToken: String?, eosToken: String?,
                       extra: [String: JSONValue] = [:], now: Date = Date(),
                       timeZone: TimeZone = .current) throws(ChatTemplateError) -> String {
        var variables: [String: Value] = [
            "messages": .list(messages.map(Value.init(json:))),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "tools": .none,
            "documents": .none,
        ]
        if let bosToken { variables["bos_token"] = .string(bosToken) }
        if let eosToken { variables["eos_token"] = .string(eosToken) }
        for (name, value) in extra { variables[name] = Value(json: value) }
        return try Interpreter(limits: limits, now: now, timeZone: timeZone).render(body, variables: variables)
    }

    /// Renders a conversation of ``ChatMessage`` values.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String?, eosToken: String?,
                       extra: [String: JSONValue] = [:], now: Date = Date(),
                       timeZone: TimeZone = .current) throws(ChatTemplateError) -> String {
        try render(messages: messages.map(\.json), addGenerationPrompt: addGenerationPrompt,
                   bosToken: bosToken, eosToken: eosToken, extra: extra, now: now, timeZone: timeZone)
    }

    /// Renders with exactly the given variables (no chat-specific defaults), e.g. for templates that
    /// are not chat templates.
    public func render(variables: [String: JSONValue], now: Date = Date(),
                       timeZone: TimeZone = .current) throws(ChatTemplateError) -> String {
        try Interpreter(limits: limits, now: now, timeZone: timeZone)
            .render(body, variables: variables.mapValues(Value.init(json:)))
    }

    /// The Jinja source of ``fallback``.
    public static let fallbackSource = """
        {%- for message in messages -%}
        {{ message['role'] }}: {% if message['content'] is string %}{{ message['content'] }}\
        {% elif message['content'] is iterable %}{% for part in message['content'] %}\
        {% if part is mapping and part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}{{ '\\n' }}
        {%- endfor -%}
        {%- if add_generation_prompt %}assistant:{% endif -%}
        """

    /// The plain transcript used for models without a chat template (see the type's documentation).
    public static let fallback: ChatTemplate = {
        do {
            return try ChatTemplate(source: fallbackSource)
        } catch {
            preconditionFailure("the fallback chat template does not parse: \(error)")
        }
    }()
}
