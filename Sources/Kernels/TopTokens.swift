/// The `k` largest logits of a row, largest first with ties in id order (what a full sort by logit, descending,
/// then id would put first), found in one pass with a bounded min-heap instead of sorting the vocabulary:
/// top-k sampling and `top_logprobs` need only these few.
package enum TopTokens {
    package static func largest(_ k: Int, of logits: UnsafePointer<Float>, count: Int) -> [Int] {
        let k = min(k, count)
        guard k > 0 else { return [] }
        /// Whether token a ranks below token b.
        func ranksBelow(_ a: Int, _ b: Int) -> Bool { logits[a] < logits[b] || (logits[a] == logits[b] && a > b) }
        // A min-heap on rank: the root is the lowest-ranked token kept so far.
        var heap = Array(0..<k)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                var lowest = parent
                let left = 2 * parent + 1, right = left + 1
                if left < k && ranksBelow(heap[left], heap[lowest]) { lowest = left }
                if right < k && ranksBelow(heap[right], heap[lowest]) { lowest = right }
                if lowest == parent { return }
                heap.swapAt(parent, lowest)
                parent = lowest
            }
        }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        // Later tokens have higher ids, so one that only ties the root ranks below it.
        var floor = logits[heap[0]]
        for i in k..<count where logits[i] > floor {
            heap[0] = i
            siftDown(0)
            floor = logits[heap[0]]
        }
        return heap.sorted { ranksBelow($1, $0) }
    }
}
