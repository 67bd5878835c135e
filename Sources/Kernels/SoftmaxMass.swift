import CFloatKernels
import Foundation

/// The unnormalised softmax of one row of logits at a temperature, `e^((x - max) / T)`, as its sum over blocks of
/// `blockSize` tokens. Drawing a token needs the total mass and the token where a point of the cumulative mass
/// falls: the block sums find the block in a short scan and only that block's weights are computed again, so no
/// vocabulary-sized buffer is written or sorted. The sums come from C (`scalellm_softmax_block_sums`), 16
/// exponentials at a time.
package struct SoftmaxMass {
    package static let blockSize = 256

    package let maxLogit: Float
    /// 1 / temperature.
    package let scale: Float
    /// The weights of tokens `b · blockSize ..< (b + 1) · blockSize` summed, for each block b.
    package let blockSums: [Float]
    /// Σ of the block sums, in block order.
    package let total: Double

    package init(_ logits: UnsafePointer<Float>, count: Int, temperature: Float) {
        let scale = 1 / temperature
        var maxLogit: Float = 0
        blockSums = [Float](unsafeUninitializedCapacity: (count + Self.blockSize - 1) / Self.blockSize) { sums, initialized in
            maxLogit = scalellm_softmax_block_sums(logits, count, scale, Self.blockSize, sums.baseAddress!)
            initialized = sums.count
        }
        self.maxLogit = maxLogit
        self.scale = scale
        total = blockSums.reduce(0) { $0 + Double($1) }
    }

    /// A token's unnormalised probability.
    @inline(__always)
    package func weight(_ logit: Float) -> Float { expf((logit - maxLogit) * scale) }

    /// The token, in id order, at which the cumulative weight passes `point` (`0 ≤ point < total`).
    package func token(at point: Double, _ logits: UnsafePointer<Float>, count: Int) -> Int {
        var remaining = point, block = 0
        for (b, sum) in blockSums.enumerated() where sum > 0 {
            block = b
            if remaining < Double(sum) { break }
            remaining -= Double(sum)
        }
        let start = block * Self.blockSize
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: min(Self.blockSize, count - start)) { weights in
            for i in weights.indices { weights[i] = weight(logits[start + i]) }
            return start + Self.index(at: remaining, in: UnsafeBufferPointer(weights))
        }
    }

    /// The first index whose weight takes the running sum of `weights` past `point`; when rounding leaves the
    /// point beyond the end, the last index of positive weight.
    package static func index(at point: Double, in weights: UnsafeBufferPointer<Float>) -> Int {
        var remaining = point, last = 0
        for (i, weight) in weights.enumerated() where weight > 0 {
            remaining -= Double(weight)
            if remaining < 0 { return i }
            last = i
        }
        return last
    }
}
