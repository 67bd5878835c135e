/// What the prefix cache knows about one registered full KV block: the chained hash it is found by, and — to
/// verify a hit — the tokens it holds and the cached block before it (nil for a prompt's first block). A block
/// whose tokens equal the requested ones and whose predecessor is the block just matched holds, by induction along
/// the chain, the keys and values of exactly the requested prefix, whatever the hash says.
struct CachedBlock: Sendable {
    let hash: UInt64
    let tokens: [Int32]
    let predecessor: Int32?

    /// Whether this block holds `tokens` right after `chain`'s last block.
    func holds(_ tokens: ArraySlice<Int32>, after chain: PrefixChain) -> Bool {
        predecessor == chain.lastBlock && self.tokens.elementsEqual(tokens)
    }
}
