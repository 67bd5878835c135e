import WireProtocol
import XCTest
@testable import Gateway

/// A worker's error reply becomes the HTTP error a client sees: status, type and the parameter it blames.
final class WorkerErrorMappingTests: XCTestCase {
    func testEachWorkerCodeMapsToItsStatusAndParameter() {
        let cases: [(code: String, status: Int, param: String?)] = [
            ("context_length_exceeded", 400, "max_tokens"),
            ("kv_cache_too_small", 400, "max_tokens"),
            ("invalid_max_tokens", 400, "max_tokens"),
            ("invalid_request", 400, "prompt"),
            ("overloaded", 503, nil),
            ("draining", 503, nil),
            ("worker_unavailable", 503, nil),
            ("something_new", 500, nil),
        ]
        for (code, status, param) in cases {
            let error = OpenAIError.fromWorker(ErrorReply(requestID: 1, code: code, message: "m"))
            XCTAssertEqual(error.status, status, code)
            XCTAssertEqual(error.param, param, code)
            XCTAssertEqual(error.message, "m", code)
        }
    }
}
