/// An error answered to an API client, shaped like OpenAI's so that client libraries surface it properly:
/// `{"error": {"message", "type", "param", "code"}}` with a matching HTTP status.
public struct OpenAIError: Error, Sendable, Equatable {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(status: Int, message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message: message, param: param, code: code)
    }

    public static func unavailable(_ message: String) -> OpenAIError {
        OpenAIError(status: 503, message: message, type: "service_unavailable", code: "service_unavailable")
    }

    public static func `internal`(_ message: String) -> OpenAIError {
        OpenAIError(status: 500, message: message, type: "internal_error", code: "internal_error")
    }

    /// The headers of the HTTP response: the JSON type, a Bearer challenge with 401, and Retry-After with 503
    /// (every 503 here is temporary: capacity, draining, or a worker not yet connected).
    public var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json")]
        if status == 401 { headers.append(("WWW-Authenticate", "Bearer")) }
        if status == 503 { headers.append(("Retry-After", "1")) }
        return headers
    }

    /// The JSON body.
    public var body: [UInt8] {
        var json = JSONWriter()
        json.object {
            $0.field("error") {
                $0.object {
                    $0.field("message", message)
                    $0.field("type", type)
                    $0.field("param", param)
                    $0.field("code", code)
                }
            }
        }
        return json.bytes
    }
}
