/// An incremental Server-Sent Events parser (the `text/event-stream` format): feed it body bytes as they arrive and
/// it returns the `data` of each event completed by them. Lines end in LF, CRLF or CR (a CRLF split across two
/// feeds counts once); `data:` lines of one event are joined with LF; comments (`:`) and other fields are ignored;
/// a blank line ends an event. Lines are bounded in size.
public struct SSEParser: Sendable {
    /// Longest line accepted; longer lines are an error.
    public static let maxLineBytes = 4 * 1024 * 1024

    /// The event stream has a line longer than `maxLineBytes`.
    public struct LineTooLong: Error, CustomStringConvertible {
        public var description: String { "server-sent event line longer than \(SSEParser.maxLineBytes) bytes" }
    }

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false

    public init() {}

    /// Consumes `bytes` and returns the data of the events they complete, in order.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws -> [String] where Bytes.Element == UInt8 {
        var events: [String] = []
        for byte in bytes {
            if byte == 10 && lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == 13
            if byte == 10 || byte == 13 {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
                if line.count > Self.maxLineBytes { throw LineTooLong() }
            }
        }
        return events
    }

    /// Handles a complete line; returns the event's data when the line is blank and ends one.
    private mutating func endLine() -> String? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { return nil }
            let event = String(decoding: data, as: UTF8.self)
            data.removeAll(keepingCapacity: true)
            hasData = false
            return event
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        if hasData { data.append(10) }
        data += line[valueStart...]
        hasData = true
        return nil
    }
}
