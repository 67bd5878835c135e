import ModelFormats

/// Typed access to a JSON object's fields with OpenAI-style errors for wrong types and ranges.
struct JSONFields {
    let object: [String: JSONValue]
    init(_ object: [String: JSONValue]) { self.object = object }

    private func present(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(OpenAIError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw .invalid("'\(key)' must be a string", param: key) }
        return s
    }

    func bool(_ key: String) throws(OpenAIError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw .invalid("'\(key)' must be a boolean", param: key) }
        return b
    }

    /// A number; its range is checked here when given (sampling ranges are `RequestLimits`'s to check).
    func number(_ key: String, in range: ClosedRange<Double>? = nil) throws(OpenAIError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let d = value.double else { throw .invalid("'\(key)' must be a number", param: key) }
        if let range, !range.contains(d) {
            throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(d)", param: key)
        }
        return d
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(OpenAIError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let n = value.int else { throw .invalid("'\(key)' must be an integer", param: key) }
        guard range.contains(n) else {
            throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(n)", param: key)
        }
        return n
    }
}
