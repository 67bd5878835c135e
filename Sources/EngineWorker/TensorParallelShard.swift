import ModelFormats

/// Why a tensor-parallel setup was refused or failed.
public enum TensorParallelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model's sizes do not split evenly across the ranks.
    case sizesDoNotDivide(size: Int, reason: String)
    /// A rank or size out of range.
    case invalidRank(rank: Int, size: Int)
    /// The group failed (a rank died, left or stopped answering): in-flight requests cannot complete.
    case groupFailed(String)
    /// Rank 0's step plan could not be decoded.
    case malformedPlan(String)

    public var description: String {
        switch self {
        case .sizesDoNotDivide(let size, let reason): return "tensor parallel size \(size) does not divide the model: \(reason)"
        case .invalidRank(let rank, let size): return "tensor parallel rank \(rank) is not in 0..<\(size) (size must be at least 1)"
        case .groupFailed(let reason): return "tensor parallel group failed: \(reason)"
        case .malformedPlan(let reason): return "tensor parallel step plan is malformed: \(reason)"
        }
    }
}

/// Which part of the model one rank of a tensor-parallel group holds (Megatron-style). Query heads and KV heads
/// are split into `size` contiguous ranges (Q/K/V column-parallel; the attention output projection row-parallel,
/// i.e. its matching input columns), and so is the MLP intermediate dimension (gate/up column-parallel, down
/// row-parallel). The embedding, the norms and the LM head are replicated on every rank (only rank 0 computes
/// logits). Rank 0 of size 1 is the whole model.
///
/// By default the sizes must divide evenly. With `allowUneven` the KV heads are dealt out by whole KV groups (each
/// with its query heads) and the intermediate rows likewise, the first ranks taking one more where they do not
/// divide — e.g. SmolLM2-135M (3 KV heads, 9 query heads) at TP=2: 2 KV groups (6 heads) and 1 (3 heads).
public struct TensorParallelShard: Sendable, Equatable {
    public let rank: Int
    public let size: Int
    /// Query heads, KV heads and intermediate rows of this rank.
    public let headCount: Int
    public let kvHeadCount: Int
    public let intermediateSize: Int
    public let headDim: Int
    /// First KV head, query head and intermediate row of this rank.
    public let kvHeadStart: Int
    public let headStart: Int
    public let intermediateStart: Int
    /// The most KV heads any rank of the group holds: every rank sizes its KV pool by it, so that all ranks have
    /// the same number of blocks (the scheduler's block ids are shared).
    public let largestKVHeadCount: Int

    /// The whole model (no tensor parallelism).
    public static func whole(_ config: ModelConfig) -> TensorParallelShard {
        try! TensorParallelShard(rank: 0, size: 1, config: config)
    }

    /// Rank `rank` of `size`. Throws `.sizesDoNotDivide`, naming the sizes, unless the KV heads, the query heads
    /// and the intermediate size all divide by `size` — or, with `allowUneven`, unless every rank gets at least
    /// one KV head.
    public init(rank: Int, size: Int, config c: ModelConfig, allowUneven: Bool = false) throws(TensorParallelError) {
        guard size >= 1, (0..<size).contains(rank) else { throw .invalidRank(rank: rank, size: size) }
        if allowUneven {
            guard c.kvHeadCount >= size, c.intermediateSize >= size else {
                throw .sizesDoNotDivide(size: size, reason: "\(c.kvHeadCount) KV heads cannot give each of \(size) ranks one")
            }
        } else {
            var problems: [String] = []
            if c.kvHeadCount % size != 0 { problems.append("\(c.kvHeadCount) KV heads") }
            if c.headCount % size != 0 { problems.append("\(c.headCount) attention heads") }
            if c.intermediateSize % size != 0 { problems.append("intermediate size \(c.intermediateSize)") }
            guard problems.isEmpty else {
                throw .sizesDoNotDivide(size: size, reason: problems.joined(separator: ", ")
                    + " \(problems.count == 1 ? "is" : "are") not divisible by \(size) (--uneven-tensor-parallel splits by KV group)")
            }
        }
        let kvShares = Self.shares(of: c.kvHeadCount, among: size)
        let intermediateShares = Self.shares(of: c.intermediateSize, among: size)
        let queryHeadsPerKVHead = c.headCount / c.kvHeadCount
        self.rank = rank
        self.size = size
        kvHeadStart = kvShares[..<rank].reduce(0, +)
        kvHeadCount = kvShares[rank]
        headStart = kvHeadStart * queryHeadsPerKVHead
        headCount = kvHeadCount * queryHeadsPerKVHead
        intermediateStart = intermediateShares[..<rank].reduce(0, +)
        intermediateSize = intermediateShares[rank]
        largestKVHeadCount = kvShares.max()!
        headDim = c.headDim
    }

    /// `total` dealt out to `ranks` in contiguous shares, the first ones taking one more when it does not divide.
    static func shares(of total: Int, among ranks: Int) -> [Int] {
        (0..<ranks).map { total / ranks + ($0 < total % ranks ? 1 : 0) }
    }

    public var isWhole: Bool { size == 1 }
    public var queryDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }
    /// Rows of the full Q matrix (and columns of the attention output projection) this rank owns.
    public var queryRows: Range<Int> { (headStart * headDim)..<((headStart + headCount) * headDim) }
    /// Rows of the full K and V matrices this rank owns.
    public var kvRows: Range<Int> { (kvHeadStart * headDim)..<((kvHeadStart + kvHeadCount) * headDim) }
    /// Rows of gate and up (and columns of down) this rank owns.
    public var intermediateRows: Range<Int> { intermediateStart..<(intermediateStart + intermediateSize) }
}
