/// Comparing greedy continuations with the golden ones (or with each other) where the golden data documents a
/// near-tie.
public enum GoldenTokens {
    /// Golden cases (`model/case`) whose greedy token at one step is a near-tie that another float summation order
    /// (batching, tensor parallelism) may flip: stories260K's `sentence` at step 6 (logit margin 0.00025).
    public static let nearTies: [String: Int] = ["stories260K/sentence": 6]

    /// `generated` and `reference` as far as they must agree: entirely — unless both are equally long, the case has
    /// a documented near-tie and the tokens differ exactly there; then the tokens before that step (every later
    /// token follows from the flipped one).
    public static func mustAgree(model: String, caseID: String, _ generated: [Int32], _ reference: [Int32]) -> (generated: [Int32], reference: [Int32]) {
        guard let step = nearTies["\(model)/\(caseID)"], generated.count == reference.count, step < generated.count,
              generated[step] != reference[step] else { return (generated, reference) }
        return (Array(generated.prefix(step)), Array(reference.prefix(step)))
    }
}
