import Foundation

/// A parsed JSON value that keeps booleans, integers and floats apart (Foundation's NSNumber does not, on
/// Linux), so that request validation can say "'stream' must be a boolean" when a client sends `1`.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Parses a request body.
    public static func parse(_ bytes: [UInt8]) throws(OpenAIError) -> JSONValue {
        guard !bytes.isEmpty else { throw .invalid("the request body is empty; expected a JSON object") }
        do { return try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) } catch {
            throw .invalid("the request body is not valid JSON", code: "invalid_json")
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// An integral number (a float with no fraction counts, as in OpenAI's API).
    public var integerValue: Int64? {
        switch self {
        case .integer(let i): return i
        case .number(let d) where d.rounded() == d && abs(d) < 9e15: return Int64(d)
        default: return nil
        }
    }
}
