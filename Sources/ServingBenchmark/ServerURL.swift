/// Where the server is: `http://HOST[:PORT][/BASE]`, e.g. `http://127.0.0.1:8000` or `http://[::1]:8000/v1`.
/// Only plain HTTP is spoken; for an https server, benchmark through a local TLS-terminating proxy.
public struct ServerURL: Equatable, Sendable, CustomStringConvertible {
    /// A host name or IP address (IPv6 without brackets).
    public var host: String
    public var port: Int
    /// A path prefix without a trailing slash ("" for none), e.g. "/v1" or "/proxy".
    public var basePath: String

    /// An error naming what is wrong with the URL.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(host: String, port: Int, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    public init(parsing text: String) throws(ParseError) {
        let lower = text.lowercased()
        if lower.hasPrefix("https://") {
            throw ParseError(description: "'\(text)': https is not supported; benchmark over plain HTTP, e.g. through a local "
                + "TLS-terminating proxy listening on http://127.0.0.1:PORT")
        }
        guard lower.hasPrefix("http://") else {
            throw ParseError(description: "'\(text)' is not an http:// URL (expected e.g. http://127.0.0.1:8000)")
        }
        var rest = Substring(text.dropFirst("http://".count))
        let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
        var path = String(rest[pathStart...])
        rest = rest[..<pathStart]
        if rest.contains("@") { throw ParseError(description: "'\(text)': credentials in the URL are not supported; use --api-key") }
        if path.contains("?") || path.contains("#") { throw ParseError(description: "'\(text)': a query or fragment is not supported") }
        while path.hasSuffix("/") { path.removeLast() }

        var hostPart: Substring, portPart: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ParseError(description: "'\(text)': unterminated [IPv6] host") }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.isEmpty { portPart = nil } else if after.hasPrefix(":") { portPart = after.dropFirst() } else {
                throw ParseError(description: "'\(text)': unexpected text after the [IPv6] host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        } else {
            hostPart = rest
            portPart = nil
        }
        guard !hostPart.isEmpty else { throw ParseError(description: "'\(text)' has no host") }
        var port = 80
        if let portPart {
            guard let value = Int(portPart), (1...65535).contains(value) else {
                throw ParseError(description: "'\(text)': '\(portPart)' is not a port number (1–65535)")
            }
            port = value
        }
        self.init(host: String(hostPart), port: port, basePath: path)
    }

    /// The request path for an OpenAI API route such as "completions" or "chat/completions": under the base path,
    /// with `/v1` added unless the base path already ends in it.
    public func apiPath(_ route: String) -> String {
        (basePath.hasSuffix("/v1") ? basePath : basePath + "/v1") + "/" + route
    }

    /// The value of the Host header.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(basePath)" }
}
