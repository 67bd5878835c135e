import Foundation
import XCTest
import TestSupport

/// `--log-format json`: every process of `scalellm serve` logs one JSON object per line, and each answered request
/// gets one line with its id, endpoint, status, token counts and times.
final class StructuredLogTests: XCTestCase {
    func testJSONLogsCarryOneRecordPerRequest() throws {
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.storiesDirectory, "--port", "0",
                                                   "--kv-cache-memory", "8MiB", "--log-format", "json"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")
        let answer = try HTTPTestClient(port: port).request("POST", "/v1/completions",
                                                            json: #"{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0, "ignore_eos": true}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        let id = try XCTUnwrap(try answer.json()["id"] as? String)
        let line = try server.waitForLine(containing: #""id":"\#(id)""#)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], line)
        XCTAssertEqual(record["message"], "request")
        XCTAssertEqual(record["label"], "scalellm.gateway")
        XCTAssertEqual(record["endpoint"], "/v1/completions")
        XCTAssertEqual(record["status"], "200")
        XCTAssertEqual(record["output_tokens"], "4")
        XCTAssertNotNil(record["prompt_tokens"].flatMap(Int.init))
        XCTAssertNotNil(record["ttft_ms"].flatMap(Int.init))
        XCTAssertNotNil(record["queue_ms"].flatMap(Int.init))
        XCTAssertNotNil(record["total_ms"].flatMap(Int.init))
        XCTAssertNotNil(record["ts"])
        // Lifecycle events are JSON too: serve's own line naming the children, the worker's start.
        for text in ["gateway pid", "listening on"] {
            let event = try server.waitForLine(containing: text)
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(event.utf8)), event)
        }
        XCTAssertEqual(server.stop(), 0, server.stderrText)
    }
}
