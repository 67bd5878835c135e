/// One decoded frame body: the Swift mirror of the protobuf `Frame { oneof body }` envelope.
///
/// Exists so that the gateway and the worker switch over plain Swift values and never see protobuf-c types.
public enum WireMessage: Sendable, Equatable {
    /// Gateway → worker, first frame on a connection.
    case hello(Hello)
    /// Worker → gateway, reply to `hello`.
    case helloAck(HelloAck)
    /// Gateway → worker: start a generation.
    case generate(GenerateRequest)
    /// Worker → gateway: one engine step's new tokens, possibly for many requests.
    case tokens(TokenBatch)
    /// Gateway → worker: stop a generation (client went away, stop string matched, ...).
    case cancel(Cancel)
    /// Either direction: a request-level or (request id 0) connection-level error.
    case error(ErrorReply)
    /// Gateway → worker: ask for a `statusReply`.
    case statusRequest
    /// Worker → gateway: load figures for scheduling and metrics.
    case statusReply(StatusReply)
}
