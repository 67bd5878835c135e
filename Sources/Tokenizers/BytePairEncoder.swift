import Foundation

/// HuggingFace's BPE model: splits a word into characters (or bytes) and applies ranked merges.
///
/// This is the model of both families in use: byte-level BPE (GPT-2 / Llama 3 / SmolLM, words
/// arrive as raw bytes mapped through the GPT-2 alphabet) and SentencePiece-converted BPE (Llama 2,
/// characters with `byte_fallback` to `<0xXX>` tokens). The merge loop reproduces HF's `Word::merge_all`
/// exactly: a min-heap on (rank, position), stale entries discarded.
struct BytePairEncoder: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var newID: Int32
    }

    let vocab: [String: Int32]
    /// Merge table keyed by `pairKey(left, right)`.
    let merges: [UInt64: Merge]
    /// Id of every single-scalar piece, keyed by scalar value.
    let scalarIDs: [UInt32: Int32]
    /// Id of the byte-level character for each byte, or -1.
    let byteLevelIDs: [Int32]
    /// Ids of `<0x00>`…`<0xFF>` when `byte_fallback` is on (-1 where missing).
    let byteFallbackIDs: [Int32]?
    let unknownID: Int32?
    let fuseUnknown: Bool
    let ignoreMerges: Bool
    let cache = WordCache(capacity: 10_000)

    /// - Parameter merges: pairs in rank order; each pair's pieces and their concatenation must be in `vocab`.
    init(vocab: [String: Int32], merges: [(String, String)], unknownToken: String?, byteFallback: Bool,
         fuseUnknown: Bool, ignoreMerges: Bool, file: String) throws {
        self.vocab = vocab
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, pair) in merges.enumerated() {
            guard let a = vocab[pair.0], let b = vocab[pair.1] else {
                throw TokenizerError.malformed(file: file, detail: "merge \"\(pair.0) \(pair.1)\" uses a piece missing from the vocabulary")
            }
            guard let merged = vocab[pair.0 + pair.1] else {
                throw TokenizerError.malformed(file: file, detail: "merge \"\(pair.0) \(pair.1)\" produces \"\(pair.0 + pair.1)\", which is missing from the vocabulary")
            }
            table[Self.pairKey(a, b)] = Merge(rank: Int32(rank), newID: merged)
        }
        self.merges = table
        var scalars: [UInt32: Int32] = [:]
        for (piece, id) in vocab {
            var it = piece.unicodeScalars.makeIterator()
            if let first = it.next(), it.next() == nil { scalars[first.value] = id }
        }
        self.scalarIDs = scalars
        self.byteLevelIDs = ByteLevelAlphabet.scalarForByte.map { scalars[$0.value] ?? -1 }
        if byteFallback {
            self.byteFallbackIDs = (0..<256).map { vocab[Self.byteTokenName(UInt8($0))] ?? -1 }
        } else {
            self.byteFallbackIDs = nil
        }
        if let unknownToken {
            guard let id = vocab[unknownToken] else {
                throw TokenizerError.malformed(file: file, detail: "unk_token \"\(unknownToken)\" is not in the vocabulary")
            }
            self.unknownID = id
        } else {
            self.unknownID = nil
        }
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
    }

    /// `<0xAB>` spelling of a byte token.
    static func byteTokenName(_ b: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "<0x\(hex[Int(b >> 4)])\(hex[Int(b & 15)])>"
    }

    @inline(__always)
    static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Appends the ids of one pre-tokenized word.
    func tokenize(_ word: PreToken, into out: inout [Int32]) {
        if word.bytes.isEmpty { return }
        let cacheable = word.bytes.count <= 256
        let key = cacheable ? WordCache.Key(bytes: word.bytes, byteLevel: word.byteLevel) : nil
        if let key, let hit = cache.get(key) {
            out.append(contentsOf: hit)
            return
        }
        let ids = tokenizeUncached(word)
        if let key { cache.put(key, ids) }
        out.append(contentsOf: ids)
    }

    private struct Symbol {
        var id: Int32
        var prev: Int32
        var next: Int32
        var length: Int32
    }

    func tokenizeUncached(_ word: PreToken) -> [Int32] {
        var word = word
        if word.byteLevel && byteLevelIDs.contains(-1) { word = word.materialized() }
        if ignoreMerges, let id = vocab[word.vocabularySpelling] { return [id] }

        // Initial symbols.
        var symbols: [Symbol] = []
        symbols.reserveCapacity(word.bytes.count)
        func add(_ id: Int32, _ length: Int) {
            let index = Int32(symbols.count)
            symbols.append(Symbol(id: id, prev: index - 1, next: index + 1, length: Int32(length)))
        }
        if word.byteLevel {
            for b in word.bytes { add(byteLevelIDs[Int(b)], 1) }
        } else {
            var pendingUnknown: (id: Int32, length: Int)? = nil
            let text = DecodedScalars(word.bytes)
            for i in 0..<text.count {
                let length = text.offsets[i + 1] - text.offsets[i]
                if let id = scalarIDs[text.scalars[i].value] {
                    if let u = pendingUnknown { add(u.id, u.length); pendingUnknown = nil }
                    add(id, length)
                    continue
                }
                if let fallback = byteFallbackIDs {
                    let bytes = word.bytes[text.offsets[i]..<text.offsets[i + 1]]
                    if bytes.allSatisfy({ fallback[Int($0)] >= 0 }) {
                        for b in bytes { add(fallback[Int(b)], 1) }
                        continue
                    }
                }
                if let unknownID {
                    if let u = pendingUnknown {
                        if fuseUnknown {
                            pendingUnknown = (u.id, u.length + length)
                        } else {
                            add(u.id, u.length)
                            pendingUnknown = (unknownID, length)
                        }
                    } else {
                        pendingUnknown = (unknownID, length)
                    }
                }
            }
            if let u = pendingUnknown { add(u.id, u.length) }
        }
        if symbols.isEmpty { return [] }
        symbols[symbols.count - 1].next = -1
        if symbols.count == 1 { return [symbols[0].id] }

        // Merge loop (HF `Word::merge_all`).
        var heap = MinHeap<MergeCandidate>()
        for i in 0..<(symbols.count - 1) {
            if let m = merges[Self.pairKey(symbols[i].id, symbols[i + 1].id)] {
                heap.push(MergeCandidate(rank: m.rank, position: Int32(i), newID: m.newID))
            }
        }
        while let top = heap.pop() {
            let pos = Int(top.position)
            if symbols[pos].length == 0 { continue }
            let nextPos = Int(symbols[pos].next)
            if nextPos < 0 { continue }
            let right = symbols[nextPos]
            guard let current = merges[Self.pairKey(symbols[pos].id, right.id)], current.newID == top.newID else {
                continue
            }
            symbols[pos].id = top.newID
            symbols[pos].length += right.length
            symbols[pos].next = right.next
            symbols[nextPos].length = 0
            if right.next >= 0 && Int(right.next) < symbols.count {
                symbols[Int(right.next)].prev = Int32(pos)
            }
            let prev = symbols[pos].prev
            if prev >= 0, let m = merges[Self.pairKey(symbols[Int(prev)].id, symbols[pos].id)] {
                heap.push(MergeCandidate(rank: m.rank, position: prev, newID: m.newID))
            }
            let next = symbols[pos].next
            if next >= 0 && Int(next) < symbols.count,
               let m = merges[Self.pairKey(symbols[pos].id, symbols[Int(next)].id)] {
                heap.push(MergeCandidate(rank: m.rank, position: Int32(pos), newID: m.newID))
            }
        }
        var ids: [Int32] = []
        ids.reserveCapacity(symbols.count)
        for s in symbols where s.length != 0 { ids.append(s.id) }
        return ids
    }
}

/// A pending merge, ordered by (rank, position) like HF's `BinaryHeap<Merge>`: lower ranks first, then leftmost.
struct MergeCandidate: Comparable {
    var key: UInt64      // rank << 32 | position
    var newID: Int32
    var position: Int32 { Int32(truncatingIfNeeded: key & 0xFFFF_FFFF) }

    init(rank: Int32, position: Int32, newID: Int32) {
        key = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: position))
        self.newID = newID
    }

    static func < (a: MergeCandidate, b: MergeCandidate) -> Bool { a.key < b.key }
    static func == (a: MergeCandidate, b: MergeCandidate) -> Bool { a.key == b.key }
}
