/// The tokens of one forward step: the chunks of one or more sequences laid end to end. Each chunk continues
/// its sequence at `firstPosition` and reads and writes that sequence's KV cache through `blockTable`. Decode
/// steps contribute one token per sequence, prefill steps a chunk of the prompt; they mix freely in one batch.
public struct ForwardBatch: Sendable {
    public struct Chunk: Sendable {
        /// Index of the chunk's first token in `ForwardBatch.tokens`.
        public var tokenOffset: Int
        public var tokenCount: Int
        /// Position of the chunk's first token in its sequence (the number of tokens already cached).
        public var firstPosition: Int
        /// Blocks of the sequence, enough to hold `firstPosition + tokenCount` tokens.
        public var blockTable: [Int32]

        public init(tokenOffset: Int, tokenCount: Int, firstPosition: Int, blockTable: [Int32]) {
            self.tokenOffset = tokenOffset
            self.tokenCount = tokenCount
            self.firstPosition = firstPosition
            self.blockTable = blockTable
        }
    }

    public private(set) var tokens: [Int32] = []
    public private(set) var chunks: [Chunk] = []
    /// Rows of the batch (token indices) whose logits the caller wants, in order.
    public private(set) var logitRows: [Int] = []

    public init() {}

    /// Appends a chunk; asks for the logits of its last token (unless `wantsLogits` is false, as for the
    /// middle chunks of a long prompt), or of all its tokens when `allLogits`.
    public mutating func append(tokens newTokens: some Collection<Int32>, firstPosition: Int, blockTable: [Int32],
                                wantsLogits: Bool = true, allLogits: Bool = false) {
        let offset = tokens.count
        tokens.append(contentsOf: newTokens)
        chunks.append(Chunk(tokenOffset: offset, tokenCount: newTokens.count, firstPosition: firstPosition, blockTable: blockTable))
        if allLogits {
            logitRows += Array(offset..<tokens.count)
        } else if wantsLogits {
            logitRows.append(tokens.count - 1)
        }
    }

    public var isEmpty: Bool { tokens.isEmpty }

    /// A run of consecutive queries of one chunk: the unit of attention work handed to a core.
    struct AttentionSlice {
        var chunk: Int
        var queries: Range<Int>
    }

    /// The chunks' queries cut into slices of at most `maxQueries`, so that the attention of a long prefill
    /// chunk is shared by all cores instead of falling to one. (A slice of a chunk attends to the keys the whole
    /// chunk stored before it, up to each query's own position, so slices are independent.)
    func attentionSlices(maxQueries: Int) -> [AttentionSlice] {
        chunks.indices.flatMap { index in
            stride(from: 0, to: chunks[index].tokenCount, by: maxQueries).map { first in
                AttentionSlice(chunk: index, queries: first..<min(first + maxQueries, chunks[index].tokenCount))
            }
        }
    }
}

extension ForwardBatch {
    /// Rebuilds a batch from its parts (a step plan received by a tensor-parallel rank).
    init(tokens: [Int32], chunks: [Chunk], logitRows: [Int]) {
        self.tokens = tokens
        self.chunks = chunks
        self.logitRows = logitRows
    }
}
