/// The HTTP version of a request.
///
/// It exists because keep-alive defaults and response framing differ between HTTP/1.0 (close by default, no
/// chunked encoding) and HTTP/1.1 (keep-alive by default, chunked streaming).
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}
