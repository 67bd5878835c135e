/// One complete HTTP request as handed to an `HTTPHandler`.
///
/// It exists as the boundary between the I/O layer and the API layer: the server has already read the whole body
/// (de-chunked, within the configured size limit), so handlers never see partial requests.
public struct HTTPRequest: Sendable, Equatable {
    /// The method token as sent (case-sensitive, e.g. "GET", "POST").
    public var method: String
    /// The request target as sent (e.g. "/v1/models?x=1"); not percent-decoded.
    public var target: String
    /// The path part of the target (absolute-form targets are reduced to their path); not percent-decoded.
    public var path: String
    /// The part after "?", if any; not percent-decoded.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The body (Content-Length or de-chunked), empty when there is none.
    public var body: [UInt8]

    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = []) {
        self.method = method
        self.target = target
        (self.path, self.query) = HTTPRequest.splitTarget(target)
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// Whether the client asked to keep the connection open: HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        let tokens = headers.tokens(for: "connection")
        if tokens.contains("close") { return false }
        if version.major > 1 || (version.major == 1 && version.minor >= 1) { return true }
        return tokens.contains("keep-alive")
    }

    static func splitTarget(_ target: String) -> (path: String, query: String?) {
        var rest = Substring(target)
        // absolute-form: scheme://authority/path?query
        if rest.first != "/", let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
            let afterScheme = rest[rest.index(colon, offsetBy: 3)...]
            if let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = afterScheme[slash...]
            } else {
                rest = ""
            }
        }
        let path: Substring, query: String?
        if let mark = rest.firstIndex(of: "?") {
            path = rest[..<mark]
            query = String(rest[rest.index(after: mark)...])
        } else {
            path = rest
            query = nil
        }
        return (path.isEmpty ? "/" : String(path), query)
    }
}
