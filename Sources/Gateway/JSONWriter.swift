/// A small streaming JSON writer for the gateway's responses. Responses are built on the thread pool for every
/// streamed chunk, so they are written straight into bytes rather than through Foundation's object graph.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init() {}

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A key followed by a nested value written by `body`.
    public mutating func field(_ key: String, _ body: (inout JSONWriter) -> Void) {
        self.key(key)
        needsComma = false
        body(&self)
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: String?) {
        self.key(key)
        if let value { writeString(value) } else { bytes += Array("null".utf8) }
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: Int) {
        self.key(key)
        bytes += Array(String(value).utf8)
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        bytes += Array((value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: Double) {
        self.key(key)
        bytes += Array(Self.number(value).utf8)
        needsComma = true
    }

    /// A raw, already-encoded JSON value (for `null` placeholders and pre-rendered fragments).
    public mutating func field(_ key: String, rawJSON: String) {
        self.key(key)
        bytes += Array(rawJSON.utf8)
        needsComma = true
    }

    /// JSON has no infinities or NaN; log-probabilities of impossible tokens are reported as a very low number.
    private static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : (value > 0 ? "1e308" : "-9999.0")
    }

    /// A string element inside an array.
    public mutating func element(_ value: String) {
        separate()
        writeString(value)
        needsComma = true
    }

    public mutating func element(_ value: Double) {
        separate()
        bytes += Array(Self.number(value).utf8)
        needsComma = true
    }

    public mutating func element(_ value: Int) {
        separate()
        bytes += Array(String(value).utf8)
        needsComma = true
    }

    private mutating func key(_ key: String) {
        separate()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
