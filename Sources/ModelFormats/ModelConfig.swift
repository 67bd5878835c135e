import Foundation

/// Everything that shapes a decoder's forward pass, read from a HuggingFace `config.json` (plus
/// `generation_config.json`) or from a GGUF file's metadata: the sizes, and the particulars of the model's family
/// as plain flags and per-layer values (biases, q/k norms, norm placement, activation, scales, soft-caps, sliding
/// windows, RoPE, experts). The forward pass reads these, never the family, so a new family that combines known
/// particulars needs only its config reader and tensor names. Nothing else in the engine reads configuration files.
public struct ModelConfig: Sendable, Equatable {
    public var family: ModelFamily
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    /// The MLP's (or each expert's) intermediate size.
    public var intermediateSize: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int32?
    public var eosTokenIDs: [Int32]

    /// Each layer's attention window and RoPE (`layerCount` entries).
    public var layers: [LayerAttention]
    /// Q, K and V projections have biases (Qwen2).
    public var attentionBias = false
    /// Each query and key head is RMS-normalised before RoPE (Qwen3, Gemma 3).
    public var queryKeyNorm = false
    /// The attention and MLP outputs are RMS-normalised before they join the residual stream (Gemma 2 and 3).
    public var sandwichNorms = false
    /// Added to every RMSNorm weight as the checkpoint stores it (1 for Gemma's HuggingFace files, whose norms
    /// multiply by `1 + w`; 0 when the file stores the weight used, as GGUF does).
    public var normWeightOffset: Float = 0
    public var activation = GatedActivation.silu
    /// Token embeddings are multiplied by this (Gemma: √hidden).
    public var embeddingScale: Float = 1
    /// Attention scores are `q·k` times this (`head_dim^-0.5`, or Gemma's `query_pre_attn_scalar^-0.5`).
    public var attentionScale: Float
    /// Attention scores become `cap · tanh(score / cap)` before the softmax (Gemma 2).
    public var attentionSoftCap: Float?
    /// Logits become `cap · tanh(logit / cap)` (Gemma 2).
    public var finalLogitSoftCap: Float?
    /// A sparse MoE MLP instead of a dense one (Mixtral).
    public var experts: MixtureOfExperts?

    public init(family: ModelFamily, hiddenSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, headDim: Int,
                intermediateSize: Int, vocabSize: Int, rmsNormEps: Float, maxPositionEmbeddings: Int,
                tieWordEmbeddings: Bool, bosTokenID: Int32?, eosTokenIDs: [Int32], layers: [LayerAttention]) {
        self.family = family
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        self.layers = layers
        attentionScale = headDim > 0 ? Float(1 / Double(headDim).squareRoot()) : 1
    }

    public var queryDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// The window every layer slides by, when all of them slide (Mistral): keys older than that are never read
    /// again, so their KV blocks can be freed as a sequence advances. Nil when any layer is global.
    public var windowOfEveryLayer: Int? {
        let windows = layers.map(\.window)
        guard windows.allSatisfy({ $0 != nil }) else { return nil }
        return windows.compactMap { $0 }.max()
    }

    /// Checks the relations the forward pass relies on. (A check, not `self = try validated()`: Swift 6.3.1 -O
    /// miscompiled that assignment at the end of these typed-throws initialisers: a normal return reached the
    /// caller as a garbage error.)
    public func validate(path: String) throws(ModelFormatError) {
        let positive = [("hidden_size", hiddenSize), ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                        ("num_key_value_heads", kvHeadCount), ("head_dim", headDim), ("intermediate_size", intermediateSize),
                        ("vocab_size", vocabSize), ("max_position_embeddings", maxPositionEmbeddings)]
        for (name, value) in positive where value <= 0 { throw .invalidConfig(path: path, reason: "\(name) must be positive, got \(value)") }
        guard headCount % kvHeadCount == 0 else {
            throw .invalidConfig(path: path, reason: "num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(kvHeadCount)")
        }
        guard headDim % 2 == 0 else { throw .invalidConfig(path: path, reason: "head_dim \(headDim) must be even for RoPE") }
        guard layers.count == layerCount else {
            throw .invalidConfig(path: path, reason: "\(layers.count) layer types for \(layerCount) layers")
        }
        guard rmsNormEps > 0, attentionScale > 0, layers.allSatisfy({ $0.ropeTheta > 0 && ($0.window ?? 1) > 0 }) else {
            throw .invalidConfig(path: path, reason: "rms_norm_eps, the attention scale, rope_theta and sliding_window must be positive")
        }
        for layer in layers {
            switch layer.ropeScaling {
            case .linear(let factor) where !(factor > 0), .llama3(let factor, _, _, _) where !(factor > 0):
                throw .invalidConfig(path: path, reason: "the rope scaling factor must be positive")
            case .llama3(_, let low, let high, let original) where !(high > low && low > 0) || original <= 0:
                throw .invalidConfig(path: path, reason: "llama3 rope scaling needs high_freq_factor > low_freq_factor > 0 and a positive original context")
            case .frequencyFactors(let factors) where factors.count != headDim / 2 || !factors.allSatisfy({ $0 > 0 }):
                throw .invalidConfig(path: path, reason: "rope_freqs must hold \(headDim / 2) positive factors")
            default: break
            }
        }
        for cap in [attentionSoftCap, finalLogitSoftCap] where cap.map({ !($0 > 0) }) ?? false {
            throw .invalidConfig(path: path, reason: "soft-capping values must be positive")
        }
        if let experts, !(experts.expertCount > 0 && (1...experts.expertCount).contains(experts.expertsPerToken)) {
            throw .invalidConfig(path: path, reason: "\(experts.expertsPerToken) experts per token of \(experts.expertCount) experts")
        }
    }
}

extension ModelConfig {
    static func readJSONObject(_ path: String) throws(ModelFormatError) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(path: path) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        return object
    }

    /// A token id read from `key` of `path`: an integer that fits in Int32, else `invalidConfig`.
    static func tokenID(_ number: Double?, key: String, path: String) throws(ModelFormatError) -> Int32 {
        guard let number, let id = Int32(exactly: number) else {
            throw .invalidConfig(path: path, reason: "'\(key)' \(number.map { String($0) } ?? "(not a number)") is not a token id")
        }
        return id
    }

    /// One token id or a list of them (HuggingFace allows both for `eos_token_id`); empty when absent.
    static func tokenIDs(_ value: Any?, key: String, path: String) throws(ModelFormatError) -> [Int32] {
        if let n = value as? NSNumber { return [try tokenID(n.doubleValue, key: key, path: path)] }
        guard let list = value as? [NSNumber] else { return [] }
        var ids: [Int32] = []
        for n in list { ids.append(try tokenID(n.doubleValue, key: key, path: path)) }
        return ids
    }
}
