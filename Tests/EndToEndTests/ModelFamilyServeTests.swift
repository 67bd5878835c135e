import Foundation
import XCTest
import TestSupport

/// `scalellm serve` on models of other families, through HTTP: every architecture fixture (token-id prompts,
/// `ignore_eos`, 24 greedy tokens at fp32) answers with transformers' continuation text, and Gemma 3 270M (text
/// prompts, the file's own tokenizer) with transformers' completion text for every golden case.
final class ModelFamilyServeTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-families-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A server on `model` at fp32, ready; and its port.
    private func serve(_ model: String, name: String) throws -> (ServerProcess, Int) {
        let socket = directory.appendingPathComponent("\(name).sock").path
        let server = try ServerProcess(arguments: ["serve", "--model", model, "--port", "0", "--socket", socket,
                                                   "--kv-cache-memory", "64MiB", "--dtype", "fp32"])
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")
        return (server, port)
    }

    /// The text of a greedy, non-streamed completion of `prompt` (a string or token ids).
    private func complete(port: Int, prompt: Any, maxTokens: Int, ignoreEOS: Bool) throws -> String? {
        let body: [String: Any] = ["prompt": prompt, "max_tokens": maxTokens, "temperature": 0, "ignore_eos": ignoreEOS]
        let response = try HTTPTestClient(port: port).request("POST", "/v1/completions",
                                                              json: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        XCTAssertEqual(response.status, 200, response.text)
        return ((try response.json()["choices"] as? [[String: Any]])?.first)?["text"] as? String
    }

    func testEveryArchitectureFixtureServesTransformersContinuations() throws {
        for family in SharedData.archFixtureFamilies {
            let (server, port) = try serve(SharedData.archFixtureDirectory(family), name: family)
            defer { server.stop() }
            for (index, goldenCase) in try SharedData.archFixtureCases(family).enumerated() {
                let prompt = (goldenCase["prompt_token_ids"] as! [NSNumber]).map(\.intValue)
                let text = try complete(port: port, prompt: prompt, maxTokens: 24, ignoreEOS: true)
                // The golden text keeps special tokens; the API skips them, as OpenAI's does.
                var expected = goldenCase["continuation_text"] as! String
                for special in ["<unk>", "<s>", "</s>"] { expected = expected.replacingOccurrences(of: special, with: "") }
                XCTAssertEqual(text, expected, "\(family) case \(index)")
            }
        }
    }

    func testGemma3ServesTransformersCompletions() throws {
        let (server, port) = try serve(try ModelCache.require(ModelCache.gemma3GGUF), name: "gemma3")
        defer { server.stop() }
        for goldenCase in try SharedData.goldenCases("gemma3-270m-q4_k_m", "generation.json") {
            let text = try complete(port: port, prompt: goldenCase["prompt"] as! String,
                                    maxTokens: (goldenCase["expected_max_tokens"] as! NSNumber).intValue, ignoreEOS: false)
            XCTAssertEqual(text, goldenCase["expected_completion_text"] as? String, goldenCase["id"] as! String)
        }
    }
}
