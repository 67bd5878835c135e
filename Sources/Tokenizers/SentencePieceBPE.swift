/// SentencePiece BPE driven by piece scores instead of a merge list (GGUF `tokenizer.ggml.model = "llama"`).
///
/// GGUF files for Llama-2-style models carry pieces and scores but no merges; llama.cpp then
/// repeatedly merges the adjacent pair whose concatenation is a piece with the highest score
/// (leftmost on ties) and spells characters missing from the vocabulary as `<0xXX>` byte tokens.
/// This reproduces that algorithm (llama.cpp `llm_tokenizer_spm`).
struct SentencePieceBPE: Sendable {
    /// Pieces that merges may produce (normal and user-defined tokens), keyed by their UTF-8 bytes: `String` keys
    /// compare by canonical equivalence and would turn `e` + U+0301 into the piece `é`.
    let pieces: [[UInt8]: Int32]
    let scores: [Float]
    /// Ids of `<0x00>`…`<0xFF>` (-1 where missing).
    let byteIDs: [Int32]
    let unknownID: Int32?

    private struct Symbol {
        var start: Int   // byte offset in the word
        var length: Int  // 0 once merged into its left neighbour
        var prev: Int
        var next: Int
    }

    private struct Bigram: Comparable {
        var score: Float
        var left: Int
        var right: Int
        var size: Int
        /// Heap order: `a < b` means `a` is merged first — higher score, then the leftmost.
        static func < (a: Bigram, b: Bigram) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
    }

    func tokenize(_ input: PreToken, into out: inout [Int32]) {
        let word = input.materialized()
        let bytes = Array(word.bytes)
        if bytes.isEmpty { return }
        let text = DecodedScalars(bytes)
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        for i in 0..<text.count {
            symbols.append(Symbol(start: text.offsets[i], length: text.offsets[i + 1] - text.offsets[i],
                                  prev: i - 1, next: i + 1 == text.count ? -1 : i + 1))
        }
        var queue = MinHeap<Bigram>()
        func piece(_ start: Int, _ length: Int) -> Int32? {
            pieces[Array(bytes[start..<(start + length)])]
        }
        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let size = symbols[left].length + symbols[right].length
            guard let id = piece(symbols[left].start, size) else { return }
            queue.push(Bigram(score: scores[Int(id)], left: left, right: right, size: size))
        }
        for i in 1..<max(symbols.count, 1) { tryAdd(i - 1, i) }
        while let bigram = queue.pop() {
            let left = symbols[bigram.left]
            let right = symbols[bigram.right]
            if left.length == 0 || right.length == 0 || left.length + right.length != bigram.size { continue }
            symbols[bigram.left].length += right.length
            symbols[bigram.right].length = 0
            symbols[bigram.left].next = right.next
            if right.next >= 0 { symbols[right.next].prev = bigram.left }
            tryAdd(symbols[bigram.left].prev, bigram.left)
            tryAdd(bigram.left, symbols[bigram.left].next)
        }
        var i = 0
        while i != -1 {
            let s = symbols[i]
            if let id = piece(s.start, s.length) {
                out.append(id)
            } else {
                // Merged symbols are always pieces; what is left is a single character missing
                // from the vocabulary: spell it with byte tokens.
                for b in bytes[s.start..<(s.start + s.length)] {
                    let id = byteIDs[Int(b)]
                    if id >= 0 { out.append(id) } else if let unknownID { out.append(unknownID) }
                }
            }
            i = s.next
        }
    }
}
