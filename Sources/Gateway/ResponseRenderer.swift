import Tokenizers
import WireProtocol

/// Which OpenAI response shape a generation is answered in.
enum ResponseKind: Sendable {
    case completion, chat
}

/// Everything that identifies one response, fixed when it starts; a value so pool jobs can carry it.
struct ResponseIdentity: Sendable {
    let id: String
    let created: Int
    let model: String
    let kind: ResponseKind
    let stream: Bool
    let includeUsage: Bool
    /// nil: no logprobs; otherwise the number of alternatives per token.
    let topLogprobs: Int?
    let promptTokens: Int
    /// Monotonic arrival time and endpoint, for metrics.
    let arrival: Double
    let endpoint: String
}

/// One generated token's log-probabilities, resolved to text for the response.
struct RenderedLogprob: Sendable {
    let token: String
    let logprob: Float
    let top: [(token: String, logprob: Float)]

    init(_ id: Int32, _ logprob: TokenLogprob, tokenizer: Tokenizer) {
        token = tokenizer.decode([id], skipSpecialTokens: false)
        self.logprob = logprob.logprob
        top = zip(logprob.topTokenIDs, logprob.topLogprobs).map { (tokenizer.decode([$0], skipSpecialTokens: false), $1) }
    }
}

/// Renders OpenAI JSON for completions and chat completions, streamed chunks and whole bodies. Pure functions of
/// their inputs, run on the thread pool.
enum ResponseRenderer {
    static func finishName(_ finish: WireProtocol.FinishReason?) -> String? {
        switch finish {
        case .stop?: return "stop"
        case .length?: return "length"
        case .cancelled?, .error?: return "abort"
        case .notFinished?, nil: return nil
        }
    }

    /// One SSE event for choice `index`: its new text (chat: the first event also carries the role) and, on the
    /// last one, its finish reason.
    static func streamEvent(_ identity: ResponseIdentity, index: Int, text: String, logprobs: [RenderedLogprob],
                            first: Bool, finish: WireProtocol.FinishReason?) -> [UInt8] {
        var w = JSONWriter()
        w.object {
            header(&$0, identity, chunk: true)
            $0.field("choices") {
                $0.array {
                    $0.object {
                        $0.field("index", index)
                        switch identity.kind {
                        case .completion:
                            $0.field("text", text)
                        case .chat:
                            $0.field("delta") {
                                $0.object {
                                    if first { $0.field("role", "assistant") }
                                    if !text.isEmpty || !first { $0.field("content", text) }
                                }
                            }
                        }
                        logprobsField(&$0, identity, logprobs, textOffset: nil)
                        $0.field("finish_reason", finishName(finish))
                    }
                }
            }
        }
        return sse(w.bytes)
    }

    /// The final usage event of a stream (`stream_options.include_usage`).
    static func usageEvent(_ identity: ResponseIdentity, completionTokens: Int) -> [UInt8] {
        var w = JSONWriter()
        w.object {
            header(&$0, identity, chunk: true)
            $0.field("choices") { $0.array { _ in } }
            usage(&$0, identity, completionTokens: completionTokens)
        }
        return sse(w.bytes)
    }

    /// A whole, unstreamed response.
    static func body(_ identity: ResponseIdentity, choices: [(text: String, logprobs: [RenderedLogprob], finish: WireProtocol.FinishReason)],
                     completionTokens: Int) -> [UInt8] {
        var w = JSONWriter()
        w.object {
            header(&$0, identity, chunk: false)
            $0.field("choices") {
                $0.array {
                    for (index, choice) in choices.enumerated() {
                        $0.object {
                            $0.field("index", index)
                            switch identity.kind {
                            case .completion: $0.field("text", choice.text)
                            case .chat:
                                $0.field("message") {
                                    $0.object {
                                        $0.field("role", "assistant")
                                        $0.field("content", choice.text)
                                    }
                                }
                            }
                            logprobsField(&$0, identity, choice.logprobs, textOffset: 0)
                            $0.field("finish_reason", finishName(choice.finish))
                        }
                    }
                }
            }
            usage(&$0, identity, completionTokens: completionTokens)
        }
        return w.bytes
    }

    private static func sse(_ json: [UInt8]) -> [UInt8] { Array("data: ".utf8) + json + Array("\n\n".utf8) }

    private static func header(_ w: inout JSONWriter, _ identity: ResponseIdentity, chunk: Bool) {
        w.field("id", identity.id)
        switch identity.kind {
        case .completion: w.field("object", "text_completion")
        case .chat: w.field("object", chunk ? "chat.completion.chunk" : "chat.completion")
        }
        w.field("created", identity.created)
        w.field("model", identity.model)
    }

    private static func usage(_ w: inout JSONWriter, _ identity: ResponseIdentity, completionTokens: Int) {
        w.field("usage") {
            $0.object {
                $0.field("prompt_tokens", identity.promptTokens)
                $0.field("completion_tokens", completionTokens)
                $0.field("total_tokens", identity.promptTokens + completionTokens)
            }
        }
    }

    /// `logprobs` in the legacy completions shape (tokens, token_logprobs, top_logprobs, text_offset) or the chat
    /// shape (`content: [{token, logprob, bytes, top_logprobs}]`); `null` when not requested.
    private static func logprobsField(_ w: inout JSONWriter, _ identity: ResponseIdentity, _ entries: [RenderedLogprob], textOffset: Int?) {
        guard identity.topLogprobs != nil else { return w.field("logprobs", rawJSON: "null") }
        switch identity.kind {
        case .completion:
            w.field("logprobs") {
                $0.object {
                    $0.field("tokens") { $0.array { for e in entries { $0.element(e.token) } } }
                    $0.field("token_logprobs") { $0.array { for e in entries { $0.element(Double(e.logprob)) } } }
                    $0.field("top_logprobs") {
                        $0.array { for e in entries { $0.object { for t in e.top { $0.field(t.token, Double(t.logprob)) } } } }
                    }
                    $0.field("text_offset") {
                        $0.array {
                            var offset = textOffset ?? 0
                            for e in entries {
                                $0.element(offset)
                                offset += e.token.utf16.count
                            }
                        }
                    }
                }
            }
        case .chat:
            w.field("logprobs") {
                $0.object {
                    $0.field("content") {
                        $0.array {
                            for e in entries {
                                $0.object {
                                    tokenEntry(&$0, e.token, e.logprob)
                                    $0.field("top_logprobs") { $0.array { for t in e.top { $0.object { tokenEntry(&$0, t.token, t.logprob) } } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func tokenEntry(_ w: inout JSONWriter, _ token: String, _ logprob: Float) {
        w.field("token", token)
        w.field("logprob", Double(logprob))
        w.field("bytes") { $0.array { for b in token.utf8 { $0.element(Int(b)) } } }
    }
}
