import CFloatKernels
import Foundation

/// The tokens top-p sampling draws from: the smallest set of most likely tokens (ties: lower id first) whose
/// probability reaches `p`, found without sorting the vocabulary. The tokens of weight at least w contain the
/// nucleus as soon as they hold p of the mass, so w is lowered (one vectorised pass over the logits per try, in
/// C) until they do, never below (1 - p) / V of the mass: all tokens under that bound together hold less than
/// 1 - p. Only those tokens are gathered, and among them a quickselect on cumulative mass finds the set's last
/// token.
package struct Nucleus {
    /// The members, in id order.
    package let members: [Int]
    /// Their weights (`SoftmaxMass.weight`).
    private let weights: [Float]
    /// Their total weight.
    package let mass: Double

    package init(_ logits: UnsafePointer<Float>, count: Int, softmax: SoftmaxMass, p: Float) {
        let target = Double(p) * softmax.total
        // Candidates: the tokens whose weight is at least e^-gap (logits within gap · T of the largest), the gap
        // doubling from 1 until they hold the target mass (with a margin for rounding), so that they contain the
        // nucleus; at most down to the bound, lowered a little so that rounding cannot drop a member.
        let bound = Double(1 - p) * softmax.total / Double(count) * 0.999
        let widestGap = bound > 0 ? -log(bound) : .infinity
        var gap = 1.0
        while gap < widestGap, Double(scalellm_softmax_mass_above(logits, count, softmax.maxLogit, softmax.scale,
                                                                   softmax.maxLogit - Float(gap) / softmax.scale)) < target * 1.0001 {
            gap *= 2
        }
        let threshold = softmax.maxLogit - Float(min(gap, widestGap)) / softmax.scale
        var candidates: [(token: Int, weight: Float)] = []
        for i in 0..<count where logits[i] >= threshold { candidates.append((i, softmax.weight(logits[i]))) }

        func precedes(_ a: Int, _ b: Int) -> Bool { logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        // Quickselect for the first token, in rank order, at which the cumulative weight reaches the target.
        var work = candidates, low = 0, high = work.count
        var needed = target, keptMass: Double = 0
        var last: Int?
        while low < high {
            work.swapAt(low + (high - low) / 2, high - 1)
            let pivot = work[high - 1]
            var split = low, before: Double = 0
            for j in low..<(high - 1) where precedes(work[j].token, pivot.token) {
                before += Double(work[j].weight)
                work.swapAt(j, split)
                split += 1
            }
            work.swapAt(split, high - 1)
            if split > low && before >= needed {
                high = split
                continue
            }
            keptMass += before + Double(pivot.weight)
            if before + Double(pivot.weight) >= needed {
                last = pivot.token
                break
            }
            needed -= before + Double(pivot.weight)
            low = split + 1
        }
        // Without a last token (only by rounding, as p nears 1) every candidate is kept.
        let kept = last.map { last in candidates.filter { $0.token == last || precedes($0.token, last) } } ?? candidates
        members = kept.map(\.token)
        weights = kept.map(\.weight)
        mass = keptMass
    }

    /// The member, in id order, at which the cumulative weight passes `point` (`0 ≤ point < mass`).
    package func token(at point: Double) -> Int {
        members[weights.withUnsafeBufferPointer { SoftmaxMass.index(at: point, in: $0) }]
    }
}
