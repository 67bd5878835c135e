import Foundation
import XCTest
import ModelFormats
import TestSupport

/// The README's first command: `scalellm serve` with no `--model`. The default model is found through
/// `SCALELLM_MODEL_CACHE` (here the shared copy of it) and served with the default `--dtype auto` (its Q4_1 blocks
/// computed on as integers, an f16 KV cache): a greedy completion is what `scalellm generate` computes in-process
/// with the same defaults, and starts as HuggingFace's golden text does (the quantised path drifts from HF's float32
/// continuation after a few tokens, where two candidates are close: "Nova" and "New" Haven). A cache without the
/// model is a clean failure that says how to fix it.
final class DefaultModelServeTests: XCTestCase {
    func testServeWithoutModelUsesTheDefaultModel() throws {
        let environment = [DefaultModel.cacheVariable: SharedData.smolLMDirectory]
        let server = try ServerProcess(arguments: ["serve", "--port", "0", "--kv-cache-memory", "64MiB"], environment: environment)
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")
        let loaded = try server.waitForLine(containing: "loaded /")
        XCTAssertTrue(loaded.contains("loaded \(SharedData.smolLMGGUF) "), loaded)
        XCTAssertTrue(loaded.contains("auto weights"), loaded)

        let golden = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        let story = try XCTUnwrap(golden.first { $0["id"] as? String == "story_opening" })
        let prompt = story["prompt"] as! String
        let response = try HTTPTestClient(port: port).request(
            "POST", "/v1/completions", json: ServeEndToEndTests.body(prompt: prompt, stream: false))
        XCTAssertEqual(response.status, 200, response.text)
        let choice = try XCTUnwrap((try response.json()["choices"] as? [[String: Any]])?.first)
        let text = try XCTUnwrap(choice["text"] as? String)
        let inProcess = try CommandRun.run(["generate", "--prompt", prompt, "--max-tokens", "48", "--temperature", "0"],
                                           environment: environment)
        XCTAssertEqual(inProcess.status, 0, inProcess.stderr)
        XCTAssertEqual(text + "\n", inProcess.stdout)
        XCTAssertTrue(text.hasPrefix(", the city of N"), text)
        XCTAssertTrue((story["expected_completion_text"] as! String).hasPrefix(", the city of N"))

        XCTAssertEqual(server.stop(), 0, server.stderrText)
    }

    func testServeWithoutModelFailsClearlyWhenTheDefaultModelIsMissing() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-no-model-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let outcome = try CommandRun.run(["serve", "--port", "0"], environment: [DefaultModel.cacheVariable: empty.path], seconds: 30)
        XCTAssertTrue(outcome.exitedInTime)
        XCTAssertNotEqual(outcome.status, 0)
        for part in [empty.appendingPathComponent(DefaultModel.fileName).path, "scripts/setup.sh", DefaultModel.cacheVariable, "--model"] {
            XCTAssertTrue(outcome.stderr.contains(part), "stderr does not mention \(part): \(outcome.stderr)")
        }
    }
}
