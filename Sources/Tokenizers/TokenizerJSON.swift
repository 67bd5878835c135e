import Foundation
import ModelFormats

/// Reader of HuggingFace `tokenizer.json` (+ `tokenizer_config.json`) into a `TokenizerDefinition`.
///
/// Only the components this package reproduces exactly are accepted; anything else is reported as
/// `TokenizerError.unsupported` naming the file and component, never silently approximated.
enum TokenizerJSON {
    /// The parts of tokenizer.json this reader uses; the model section is decoded with concrete
    /// types because it holds the large vocabulary and merge list.
    private struct File: Decodable {
        var model: ModelSection
        var addedTokens: JSONValue?
        var normalizer: JSONValue?
        var preTokenizer: JSONValue?
        var postProcessor: JSONValue?
        var decoder: JSONValue?

        enum CodingKeys: String, CodingKey {
            case model, normalizer, decoder
            case addedTokens = "added_tokens", preTokenizer = "pre_tokenizer", postProcessor = "post_processor"
        }
    }

    private struct ModelSection: Decodable {
        var type: String?
        var vocab: [String: Int32]?
        var merges: [(String, String)]?
        var badMerge: String?
        var unkToken: String?
        var byteFallback: Bool?
        var fuseUnk: Bool?
        var ignoreMerges: Bool?
        var continuingSubwordPrefix: String?
        var endOfWordSuffix: String?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges
            case unkToken = "unk_token", byteFallback = "byte_fallback", fuseUnk = "fuse_unk"
            case ignoreMerges = "ignore_merges", continuingSubwordPrefix = "continuing_subword_prefix"
            case endOfWordSuffix = "end_of_word_suffix"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            if type == nil && c.contains(.merges) { type = "BPE" }
            // Other model types have other vocabulary shapes; they are rejected after decoding.
            guard type == "BPE" else { return }
            vocab = try c.decodeIfPresent([String: Int32].self, forKey: .vocab)
            if c.contains(.merges), try !c.decodeNil(forKey: .merges) {
                var list = try c.nestedUnkeyedContainer(forKey: .merges)
                var pairs: [(String, String)] = []
                pairs.reserveCapacity(list.count ?? 0)
                while !list.isAtEnd {
                    if let s = try? list.decode(String.self) {
                        guard let space = s.utf8.firstIndex(of: 0x20) else {
                            badMerge = s
                            break
                        }
                        pairs.append((String(s[..<space]), String(s[s.index(after: space)...])))
                    } else {
                        let pair = try list.decode([String].self)
                        guard pair.count == 2 else {
                            badMerge = pair.joined(separator: ",")
                            break
                        }
                        pairs.append((pair[0], pair[1]))
                    }
                }
                merges = pairs
            }
            unkToken = try c.decodeIfPresent(String.self, forKey: .unkToken)
            byteFallback = try c.decodeIfPresent(Bool.self, forKey: .byteFallback)
            fuseUnk = try c.decodeIfPresent(Bool.self, forKey: .fuseUnk)
            ignoreMerges = try c.decodeIfPresent(Bool.self, forKey: .ignoreMerges)
            continuingSubwordPrefix = try c.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix)
            endOfWordSuffix = try c.decodeIfPresent(String.self, forKey: .endOfWordSuffix)
        }
    }

    static func parse(tokenizerJSON: URL, config: URL?) throws -> TokenizerDefinition {
        let file = tokenizerJSON.lastPathComponent
        let root = try read(File.self, from: tokenizerJSON)
        let configObject = try config.map { try read(JSONValue.self, from: $0) }
        if let configObject, configObject.object == nil {
            throw TokenizerError.malformed(file: config!.lastPathComponent, detail: "top level is not a JSON object")
        }

        let (model, vocab) = try buildModel(root.model, file: file)

        var added: [AddedToken] = []
        if let list = root.addedTokens, !list.isNull {
            guard let items = list.array else {
                throw TokenizerError.malformed(file: file, detail: "added_tokens is not an array")
            }
            for (i, t) in items.enumerated() {
                guard let rawID = t["id"]?.int, let content = t["content"]?.string else {
                    throw TokenizerError.malformed(file: file, detail: "added_tokens[\(i)] needs \"id\" and \"content\"")
                }
                let id = try tokenID(rawID, file: file, what: "added_tokens[\(i)].id")
                let special = t["special"]?.bool ?? false
                added.append(AddedToken(id: id, content: content, special: special,
                                        lstrip: t["lstrip"]?.bool ?? false, rstrip: t["rstrip"]?.bool ?? false,
                                        normalized: t["normalized"]?.bool ?? !special,
                                        singleWord: t["single_word"]?.bool ?? false))
            }
        }

        let normalizer = try parseNormalizer(root.normalizer, file: file)
        let preTokenizer = try parsePreTokenizer(root.preTokenizer, file: file)
        let decoder = try parseDecoder(root.decoder, file: file)

        func idOf(_ content: String) -> Int32? {
            added.first(where: { $0.content == content })?.id ?? vocab[content]
        }
        func configToken(_ key: String) -> String? {
            guard let value = configObject?[key] else { return nil }
            return value.string ?? value["content"]?.string
        }

        var prefix: [Int32] = []
        var suffix: [Int32] = []
        if let post = root.postProcessor, !post.isNull {
            try parsePostProcessor(post, file: file, idOf: idOf, prefix: &prefix, suffix: &suffix)
        } else {
            // No post-processor in the file: transformers falls back to tokenizer_config's
            // add_bos_token / add_eos_token.
            if configObject?["add_bos_token"]?.bool == true, let t = configToken("bos_token"), let id = idOf(t) {
                prefix = [id]
            }
            if configObject?["add_eos_token"]?.bool == true, let t = configToken("eos_token"), let id = idOf(t) {
                suffix = [id]
            }
        }

        let bos = configToken("bos_token").flatMap(idOf) ?? (prefix.count == 1 ? prefix.first : nil)
        let eos = configToken("eos_token").flatMap(idOf)
        return TokenizerDefinition(model: model, vocab: vocab, normalizer: normalizer, preTokenizer: preTokenizer,
                                   decoder: decoder, addedTokens: added, prefixIDs: prefix, suffixIDs: suffix,
                                   bosID: bos, eosID: eos)
    }

    /// `value` as a token id: an integer that fits in Int32 (the range check against the vocabulary is
    /// `TokenizerDefinition.checkTokenIDs`).
    static func tokenID(_ value: Int?, file: String, what: String) throws -> Int32 {
        guard let value, let id = Int32(exactly: value) else {
            throw TokenizerError.malformed(file: file, detail: "\(what) \(value.map(String.init) ?? "(not an integer)") is not a token id")
        }
        return id
    }

    // MARK: - File access

    static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw TokenizerError.fileNotReadable(path: url.path, reason: exists ? "\(error.localizedDescription)" : "no such file")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as TokenizerError {
            throw error
        } catch let DecodingError.dataCorrupted(context) {
            throw TokenizerError.malformed(file: url.lastPathComponent, detail: "not valid JSON (\(context.debugDescription))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw TokenizerError.malformed(file: url.lastPathComponent,
                                           detail: "missing \"\(key.stringValue)\" at \(path(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw TokenizerError.malformed(file: url.lastPathComponent,
                                           detail: "unexpected value at \(path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw TokenizerError.malformed(file: url.lastPathComponent, detail: "\(error)")
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    // MARK: - Model

    private static func buildModel(_ m: ModelSection, file: String) throws -> (TokenizationModel, [String: Int32]) {
        let type = m.type ?? "unknown"
        guard type == "BPE" else {
            throw TokenizerError.unsupported(file: file, feature: "model type \"\(type)\" (only BPE is implemented)")
        }
        if let prefix = m.continuingSubwordPrefix, !prefix.isEmpty {
            throw TokenizerError.unsupported(file: file, feature: "BPE continuing_subword_prefix \"\(prefix)\"")
        }
        if let suffix = m.endOfWordSuffix, !suffix.isEmpty {
            throw TokenizerError.unsupported(file: file, feature: "BPE end_of_word_suffix \"\(suffix)\"")
        }
        guard let vocab = m.vocab else {
            throw TokenizerError.malformed(file: file, detail: "model.vocab is missing")
        }
        if let bad = m.badMerge {
            throw TokenizerError.malformed(file: file, detail: "merge \"\(bad)\" is neither \"a b\" nor [a, b]")
        }
        let model = try BytePairEncoder(vocab: vocab, merges: m.merges ?? [], unknownToken: m.unkToken,
                                        byteFallback: m.byteFallback ?? false, fuseUnknown: m.fuseUnk ?? false,
                                        ignoreMerges: m.ignoreMerges ?? false, file: file)
        return (.bpe(model), vocab)
    }

    // MARK: - Normalizer

    static func parseNormalizer(_ value: JSONValue?, file: String) throws -> Normalizer? {
        guard let value, !value.isNull else { return nil }
        guard let type = value["type"]?.string else {
            throw TokenizerError.malformed(file: file, detail: "normalizer has no \"type\"")
        }
        switch type {
        case "Sequence":
            let list = value["normalizers"]?.array ?? []
            return .sequence(try list.compactMap { try parseNormalizer($0, file: file) })
        case "Prepend":
            guard let p = value["prepend"]?.string else {
                throw TokenizerError.malformed(file: file, detail: "Prepend normalizer without \"prepend\"")
            }
            return .prepend(p)
        case "Replace":
            let (pattern, content) = try replaceArguments(value, file: file, what: "Replace normalizer")
            return .replace(pattern: pattern, content: content)
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip":
            return .strip(left: value["strip_left"]?.bool ?? true, right: value["strip_right"]?.bool ?? true)
        default:
            throw TokenizerError.unsupported(file: file, feature: "normalizer \"\(type)\"")
        }
    }

    static func replaceArguments(_ n: JSONValue, file: String, what: String) throws -> (String, String) {
        guard let pattern = n["pattern"], let content = n["content"]?.string else {
            throw TokenizerError.malformed(file: file, detail: "\(what) needs \"pattern\" and \"content\"")
        }
        if let s = pattern["String"]?.string { return (s, content) }
        if let r = pattern["Regex"]?.string {
            throw TokenizerError.unsupported(file: file, feature: "\(what) with regex pattern \(r)")
        }
        throw TokenizerError.malformed(file: file, detail: "\(what) pattern is neither String nor Regex")
    }

    // MARK: - Pre-tokenizer

    static func parsePreTokenizer(_ value: JSONValue?, file: String) throws -> PreTokenizer? {
        guard let value, !value.isNull else { return nil }
        guard let type = value["type"]?.string else {
            throw TokenizerError.malformed(file: file, detail: "pre_tokenizer has no \"type\"")
        }
        switch type {
        case "Sequence":
            let list = value["pretokenizers"]?.array ?? []
            return .sequence(try list.compactMap { try parsePreTokenizer($0, file: file) })
        case "ByteLevel":
            let useRegex = value["use_regex"]?.bool ?? true
            return .byteLevel(addPrefixSpace: value["add_prefix_space"]?.bool ?? true, pattern: useRegex ? .gpt2 : nil)
        case "Digits":
            return .digits(individual: value["individual_digits"]?.bool ?? false)
        case "Split":
            guard let regex = value["pattern"]?["Regex"]?.string else {
                throw TokenizerError.unsupported(file: file, feature: "Split pre-tokenizer without a Regex pattern")
            }
            let behavior = value["behavior"]?.string ?? "Isolated"
            guard behavior == "Isolated", !(value["invert"]?.bool ?? false) else {
                throw TokenizerError.unsupported(file: file, feature: "Split pre-tokenizer behavior \"\(behavior)\" (only Isolated)")
            }
            guard let known = SplitPattern.recognize(regex: regex) else {
                throw TokenizerError.unsupported(file: file, feature: "Split pre-tokenizer regex \(regex)")
            }
            return .split(known)
        case "Metaspace":
            let replacement = value["replacement"]?.string ?? "\u{2581}"
            return .metaspace(replacement: replacement, prependScheme: try prependScheme(value, file: file),
                              split: value["split"]?.bool ?? true)
        default:
            throw TokenizerError.unsupported(file: file, feature: "pre-tokenizer \"\(type)\"")
        }
    }

    private static func prependScheme(_ value: JSONValue, file: String) throws -> PrependScheme {
        if let s = value["prepend_scheme"]?.string {
            guard let parsed = PrependScheme(rawValue: s) else {
                throw TokenizerError.unsupported(file: file, feature: "Metaspace prepend_scheme \"\(s)\"")
            }
            return parsed
        }
        return (value["add_prefix_space"]?.bool ?? true) ? .always : .never
    }

    // MARK: - Decoder

    static func parseDecoder(_ value: JSONValue?, file: String) throws -> TokenDecoder? {
        guard let value, !value.isNull else { return nil }
        guard let type = value["type"]?.string else {
            throw TokenizerError.malformed(file: file, detail: "decoder has no \"type\"")
        }
        switch type {
        case "Sequence":
            let list = value["decoders"]?.array ?? []
            return .sequence(try list.compactMap { try parseDecoder($0, file: file) })
        case "Replace":
            let (pattern, content) = try replaceArguments(value, file: file, what: "Replace decoder")
            return .replace(pattern: pattern, content: content)
        case "ByteFallback":
            return .byteFallback
        case "Fuse":
            return .fuse
        case "Strip":
            guard let content = value["content"]?.string, content.unicodeScalars.count == 1,
                  let scalar = content.unicodeScalars.first else {
                throw TokenizerError.malformed(file: file, detail: "Strip decoder needs a one-character \"content\"")
            }
            return .strip(content: scalar, start: value["start"]?.int ?? 0, stop: value["stop"]?.int ?? 0)
        case "ByteLevel":
            return .byteLevel
        case "Metaspace":
            let replacement = value["replacement"]?.string?.unicodeScalars.first ?? "\u{2581}"
            return .metaspace(replacement: replacement, prependScheme: try prependScheme(value, file: file))
        default:
            throw TokenizerError.unsupported(file: file, feature: "decoder \"\(type)\"")
        }
    }

    // MARK: - Post-processor

    static func parsePostProcessor(_ value: JSONValue, file: String, idOf: (String) -> Int32?,
                                   prefix: inout [Int32], suffix: inout [Int32]) throws {
        if value.isNull { return }
        guard let type = value["type"]?.string else {
            throw TokenizerError.malformed(file: file, detail: "post_processor has no \"type\"")
        }
        switch type {
        case "ByteLevel":
            return
        case "Sequence":
            for item in value["processors"]?.array ?? [] {
                try parsePostProcessor(item, file: file, idOf: idOf, prefix: &prefix, suffix: &suffix)
            }
        case "TemplateProcessing":
            guard let single = value["single"]?.array else {
                throw TokenizerError.malformed(file: file, detail: "TemplateProcessing without \"single\"")
            }
            let specials = value["special_tokens"]
            var seenSequence = false
            var before: [Int32] = []
            var after: [Int32] = []
            for piece in single {
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let name = piece["SpecialToken"]?["id"]?.string {
                    var ids: [Int32] = []
                    if let list = specials?[name]?["ids"]?.array {
                        ids = try list.enumerated().map { index, value in
                            try tokenID(value.int, file: file, what: "TemplateProcessing special token \"\(name)\" ids[\(index)]")
                        }
                    } else if let id = idOf(name) {
                        ids = [id]
                    } else {
                        throw TokenizerError.malformed(file: file, detail: "TemplateProcessing special token \"\(name)\" has no id")
                    }
                    if seenSequence { after += ids } else { before += ids }
                } else {
                    throw TokenizerError.malformed(file: file, detail: "TemplateProcessing.single has an unknown piece")
                }
            }
            prefix += before
            suffix = after + suffix
        case "BertProcessing", "RobertaProcessing":
            func pairID(_ key: String) throws -> Int32 {
                guard let pair = value[key]?.array, pair.count == 2, let id = pair[1].int else {
                    throw TokenizerError.malformed(file: file, detail: "\(type) needs \"\(key)\": [token, id]")
                }
                return try tokenID(id, file: file, what: "\(type) \"\(key)\"")
            }
            prefix += [try pairID("cls")]
            suffix = [try pairID("sep")] + suffix
        default:
            throw TokenizerError.unsupported(file: file, feature: "post-processor \"\(type)\"")
        }
    }
}
