import Foundation

/// The API keys clients must present as `Authorization: Bearer <key>`, read from a file with one key per line
/// (blank lines and lines starting with `#` ignored) and re-read on SIGHUP. Keys are compared in constant time
/// with respect to their contents, so response timing does not reveal how much of a guess was right.
public struct APIKeyStore: Sendable {
    public let path: String
    private var keys: [[UInt8]]

    public init(path: String) throws {
        self.path = path
        keys = try Self.read(path)
    }

    public var count: Int { keys.count }

    /// Re-reads the file; on failure the old keys stay in force and the error is thrown.
    public mutating func reload() throws { keys = try Self.read(path) }

    /// Whether an `Authorization` header value carries one of the keys.
    public func authorizes(_ header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let presented = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        var matched = false
        for key in keys { matched = Self.constantTimeEqual(presented, key) || matched }
        return matched
    }

    /// Compares every byte of the longer input whatever the inputs are.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    private static func read(_ path: String) throws -> [[UInt8]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OpenAIError.internal("cannot read the API key file \(path)")
        }
        let keys = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { Array($0.utf8) }
        guard !keys.isEmpty else { throw OpenAIError.internal("the API key file \(path) holds no keys") }
        return keys
    }
}
