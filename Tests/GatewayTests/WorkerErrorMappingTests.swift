import WireProtocol
import XCTest
@testable import Gateway

/// A worker's error reply becomes the HTTP error a client sees: status, type, code and the parameter it blames.
final class WorkerErrorMappingTests: XCTestCase {
    func testEachWorkerCodeMapsToItsStatusAndParameter() {
        for code in ErrorCode.allCases {
            let error = OpenAIError(ErrorReply(requestID: 1, code: code, message: "m", param: "max_tokens"))
            XCTAssertEqual(error.message, "m", code.name)
            switch code {
            case .invalidRequest, .contextLengthExceeded, .kvCacheTooSmall:
                XCTAssertEqual(error.status, 400, code.name)
                XCTAssertEqual(error.param, "max_tokens", code.name)
                XCTAssertEqual(error.code, code.name)
            case .overloaded, .draining, .tooManyConnections, .workerFailed:
                XCTAssertEqual(error.status, 503, code.name)
                XCTAssertTrue(error.headers.contains { $0 == ("Retry-After", "1") }, code.name)
            case .unspecified, .versionMismatch, .badFrame, .unexpectedMessage, .helloRequired:
                XCTAssertEqual(error.status, 500, code.name)
            }
        }
    }

    /// The validator's refusals read the same whether the gateway or the worker noticed first.
    func testRejectionsAndTheirRepliesMapToTheSameError() {
        let rejections: [RequestRejection] = [
            .emptyPrompt, .invalidMaxTokens(0), .tokenOutOfRange(999, vocabSize: 512),
            .contextExceeded(promptTokens: 500, maxTokens: 100, contextLength: 512),
            .insufficientKVCache(neededBlocks: 9, totalBlocks: 8),
            .outOfRange(param: "temperature", value: "nan", allowed: "a finite number in 0...2"),
        ]
        for rejection in rejections {
            let direct = OpenAIError(rejection), viaWorker = OpenAIError(ErrorReply(requestID: 3, rejection))
            XCTAssertEqual(direct, viaWorker, rejection.description)
            XCTAssertEqual(direct.status, 400)
            XCTAssertEqual(direct.param, rejection.param)
        }
    }
}
