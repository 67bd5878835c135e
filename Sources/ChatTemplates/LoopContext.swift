/// The `loop` variable of a `for` loop: `index`, `index0`, `revindex`, `revindex0`, `first`, `last`,
/// `length`, `previtem`, `nextitem`, `depth`, `depth0`, `cycle(...)`, `changed(...)`, and
/// `loop(items)` for recursive loops.
///
/// As in Jinja, a loop's `if` filter is applied lazily while iterating (so the loop body can
/// influence later filter results through a namespace), and the one-item look-ahead needed by
/// `last`/`nextitem` (or the full scan needed by `length`) only happens when the template asks.
final class LoopContext {
    private let source: [Value]
    private var sourceIndex = 0
    private let filter: ((Value) throws(ChatTemplateError) -> Bool)?
    private var pending: [Value] = []
    private var pendingStart = 0
    private var knownLength: Int?
    private(set) var index0 = -1
    private(set) var current: Value = .undefined("no current item")
    private var previous: Value?
    private var lastChanged: [Value]?
    let depth0: Int
    /// Renders the loop body for other items at depth + 1 (only for `recursive` loops).
    let recurse: (([Value], Int) throws(ChatTemplateError) -> String)?

    init(source: [Value], filter: ((Value) throws(ChatTemplateError) -> Bool)?, depth0: Int,
         recurse: (([Value], Int) throws(ChatTemplateError) -> String)?) {
        self.source = source
        self.filter = filter
        self.depth0 = depth0
        self.recurse = recurse
    }

    private func fetch() throws(ChatTemplateError) -> Value? {
        while sourceIndex < source.count {
            let item = source[sourceIndex]
            sourceIndex += 1
            if let filter {
                if try filter(item) { return item }
            } else {
                return item
            }
        }
        return nil
    }

    /// Moves to the next item, or returns nil at the end.
    func advance() throws(ChatTemplateError) -> Value? {
        let item: Value?
        if pendingStart < pending.count {
            item = pending[pendingStart]
            pendingStart += 1
        } else {
            item = try fetch()
        }
        guard let item else { return nil }
        if index0 >= 0 { previous = current }
        index0 += 1
        current = item
        return item
    }

    private func peek() throws(ChatTemplateError) -> Value? {
        if pendingStart < pending.count { return pending[pendingStart] }
        guard let item = try fetch() else { return nil }
        pending.append(item)
        return item
    }

    func length() throws(ChatTemplateError) -> Int {
        if let knownLength { return knownLength }
        if filter == nil {
            knownLength = source.count
        } else {
            while let item = try fetch() { pending.append(item) }
            knownLength = index0 + 1 + pending.count - pendingStart
        }
        return knownLength!
    }

    /// `loop.<name>`; nil when `name` is not a loop attribute.
    func attribute(_ name: String) throws(ChatTemplateError) -> Value? {
        switch name {
        case "index0": return .int(index0)
        case "index": return .int(index0 + 1)
        case "revindex": return .int(try length() - index0)
        case "revindex0": return .int(try length() - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(try peek() == nil)
        case "length": return .int(try length())
        case "previtem": return previous ?? .undefined("there is no previous item")
        case "nextitem": return try peek() ?? .undefined("there is no next item")
        case "depth0": return .int(depth0)
        case "depth": return .int(depth0 + 1)
        case "cycle", "changed": return .callable(.method(.loop(self), name))
        default: return nil
        }
    }

    /// `loop.changed(*values)`: true on the first call and whenever the values differ from the last call.
    func changed(_ values: [Value]) -> Bool {
        if let last = lastChanged, last.count == values.count, zip(last, values).allSatisfy({ Operators.equal($0, $1) }) {
            return false
        }
        lastChanged = values
        return true
    }
}
