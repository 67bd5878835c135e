import Foundation

/// How well a model predicts a text: the summed negative log-likelihood (natural log) of every scored token,
/// from which the mean and the perplexity follow. Kept as a sum so that windows add up exactly.
public struct PerplexityResult: Sendable, Equatable {
    /// Tokens predicted: all tokens but the first of each window.
    public var tokens: Int
    public var windows: Int
    public var totalNLL: Double

    public init(tokens: Int, windows: Int, totalNLL: Double) {
        self.tokens = tokens
        self.windows = windows
        self.totalNLL = totalNLL
    }

    public var meanNLL: Double { totalNLL / Double(tokens) }
    public var perplexity: Double { exp(meanNLL) }
}
