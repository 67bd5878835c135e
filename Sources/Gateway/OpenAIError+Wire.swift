import WireProtocol

extension OpenAIError {
    /// The HTTP error a client sees for a request the validator (`RequestLimits`) refused, in the gateway or in the
    /// worker: 400, with the field at fault as `param` and the rule's code.
    init(_ rejection: RequestRejection) {
        self.init(status: 400, message: rejection.description, param: rejection.param, code: rejection.code.name)
    }

    /// The HTTP error a client sees for a worker's error reply.
    init(_ reply: ErrorReply) {
        switch reply.code {
        case .invalidRequest, .contextLengthExceeded, .kvCacheTooSmall:
            self.init(status: 400, message: reply.message, param: reply.param, code: reply.code.name)
        case .overloaded, .draining, .tooManyConnections:
            self.init(status: 503, message: reply.message, type: "service_unavailable", code: reply.code.name)
        case .workerFailed:
            self = .unavailable(reply.message)
        case .unspecified, .versionMismatch, .badFrame, .unexpectedMessage, .helloRequired:
            self = .internal(reply.message)
        }
    }
}
