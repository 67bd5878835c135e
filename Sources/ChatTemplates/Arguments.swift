/// Evaluated call arguments: positional values and `name=value` keywords in call order.
struct Arguments {
    var positional: [Value] = []
    var keywords: [(name: String, value: Value)] = []

    init(positional: [Value] = [], keywords: [(name: String, value: Value)] = []) {
        self.positional = positional
        self.keywords = keywords
    }

    /// The argument at `position`, or else the keyword `name` (Python's binding of one parameter).
    func value(_ position: Int, _ name: String) -> Value? {
        if position >= 0 && position < positional.count { return positional[position] }
        return keyword(name)
    }

    func keyword(_ name: String) -> Value? {
        keywords.last(where: { $0.name == name })?.value
    }

    /// The arguments after dropping the first `n` positional ones.
    func dropping(_ n: Int) -> Arguments {
        Arguments(positional: Array(positional.dropFirst(n)), keywords: keywords)
    }
}
