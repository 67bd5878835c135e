import Foundation
import XCTest
import TestSupport

/// The real `scalellm serve` on the default model (the GGUF from shared/): worker and gateway processes, a Unix
/// socket between them, HTTP on a free loopback port. Greedy completions must equal HuggingFace's golden text.
final class ServeEndToEndTests: XCTestCase {
    func testServeAnswersGoldenCompletionsAndRejectsMalformedRequests() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-e2e-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("worker.sock").path

        // fp32: the exact path, which reproduces HuggingFace's float32 continuations token for token (the default,
        // auto, computes on the file's Q4_1 blocks with 8-bit activations and drifts from them after a while).
        let server = try ServerProcess(arguments: ["serve", "--model", SharedData.smolLMGGUF, "--port", "0", "--socket", socket,
                                                   "--kv-cache-memory", "64MiB", "--dtype", "fp32"])
        defer { server.stop() }
        let port = try server.waitForPort()
        _ = try server.waitForLine(containing: "worker ready")

        let golden = try SharedData.goldenCases("smollm2-135m-instruct-q4_1", "generation.json")
        let story = try XCTUnwrap(golden.first { $0["id"] as? String == "story_opening" })
        let sentence = try XCTUnwrap(golden.first { $0["id"] as? String == "sentence" })  // stops at EOS (index 25)

        // Two requests on one keep-alive connection: non-streamed, then streamed.
        let client = try HTTPTestClient(port: port)
        let plain = try client.request("POST", "/v1/completions", json: Self.body(prompt: story["prompt"] as! String, stream: false))
        XCTAssertEqual(plain.status, 200, plain.text)
        let json = try plain.json()
        let choice = try XCTUnwrap((json["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, story["expected_completion_text"] as? String)
        XCTAssertEqual(choice["finish_reason"] as? String, "length")
        let usage = try XCTUnwrap(json["usage"] as? [String: Any])
        XCTAssertEqual(usage["prompt_tokens"] as? Int, story["prompt_num_tokens"] as? Int)
        XCTAssertEqual(usage["completion_tokens"] as? Int, 48)
        XCTAssertEqual(json["object"] as? String, "text_completion")

        let streamed = try client.request("POST", "/v1/completions", json: Self.body(prompt: sentence["prompt"] as! String, stream: true))
        XCTAssertEqual(streamed.status, 200)
        XCTAssertEqual(streamed.headers["content-type"], "text/event-stream")
        let events = streamed.serverSentEvents
        XCTAssertEqual(events.last, "[DONE]")
        var text = "", finish: String?
        for event in events.dropLast() {
            let chunk = try JSONSerialization.jsonObject(with: Data(event.utf8)) as! [String: Any]
            guard let delta = (chunk["choices"] as? [[String: Any]])?.first else { continue }
            text += delta["text"] as? String ?? ""
            if let reason = delta["finish_reason"] as? String { finish = reason }
        }
        XCTAssertEqual(text, sentence["expected_completion_text"] as? String)
        XCTAssertEqual(finish, "stop")
        let usageEvent = try XCTUnwrap(events.dropLast().last)
        let usageChunk = try JSONSerialization.jsonObject(with: Data(usageEvent.utf8)) as! [String: Any]
        let streamUsage = try XCTUnwrap(usageChunk["usage"] as? [String: Any])
        XCTAssertEqual(streamUsage["completion_tokens"] as? Int, (sentence["first_eos_index"] as! Int) + 1)

        // Malformed JSON and a missing field: 400 with an OpenAI-style error body.
        for (body, param) in [("{\"prompt\": ", nil), ("{\"max_tokens\": 4}", "prompt"), ("{\"prompt\": \"x\", \"max_tokens\": \"ten\"}", "max_tokens")] as [(String, String?)] {
            let bad = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body)
            XCTAssertEqual(bad.status, 400, body)
            let error = try XCTUnwrap(try bad.json()["error"] as? [String: Any], body)
            XCTAssertFalse((error["message"] as? String ?? "").isEmpty)
            XCTAssertEqual(error["type"] as? String, "invalid_request_error")
            XCTAssertEqual(error["param"] as? String, param)
        }
        // Semantic rejections: a prompt that does not fit the context, an unknown model, an unknown route.
        let tooLong = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: #"{"prompt": "hi", "max_tokens": 9000}"#)
        XCTAssertEqual(tooLong.status, 400)
        XCTAssertEqual((try tooLong.json()["error"] as? [String: Any])?["code"] as? String, "context_length_exceeded")
        let tooLongStreamed = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: #"{"prompt": "hi", "max_tokens": 9000, "stream": true}"#)
        XCTAssertEqual(tooLongStreamed.status, 400)
        // More tokens than the worker's 64 MiB KV pool holds: refused by the worker, still a 400 before any stream.
        let tooBigForCache = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: #"{"prompt": "hi", "max_tokens": 4000, "stream": true}"#)
        XCTAssertEqual(tooBigForCache.status, 400)
        XCTAssertEqual((try tooBigForCache.json()["error"] as? [String: Any])?["code"] as? String, "kv_cache_too_small")
        let unknownModel = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: #"{"prompt": "hi", "model": "gpt-9"}"#)
        XCTAssertEqual(unknownModel.status, 404)
        XCTAssertEqual(try HTTPTestClient(port: port).request("GET", "/nowhere").status, 404)
        let models = try HTTPTestClient(port: port).request("GET", "/v1/models")
        XCTAssertEqual(((try models.json()["data"] as? [[String: Any]])?.first)?["id"] as? String, "SmolLM2-135M-Instruct.Q4_1")

        // A stop string spanning token boundaries ends the completion before it, streamed and not.
        let expected = story["expected_completion_text"] as! String
        let scalars = Array(expected.unicodeScalars)
        let stop = String(String.UnicodeScalarView(scalars[20..<27]))
        let beforeStop = String(expected[..<expected.range(of: stop)!.lowerBound])
        for stream in [false, true] {
            var object = try JSONSerialization.jsonObject(with: Data(Self.body(prompt: story["prompt"] as! String, stream: stream).utf8)) as! [String: Any]
            object["stop"] = [stop, "never-generated"]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            let response = try HTTPTestClient(port: port).request("POST", "/v1/completions", json: body)
            var text = "", reason: String?
            let chunks = stream ? response.serverSentEvents.dropLast().map { Data($0.utf8) } : [Data(response.body)]
            for chunk in chunks {
                let choice = ((try JSONSerialization.jsonObject(with: chunk) as! [String: Any])["choices"] as? [[String: Any]])?.first
                text += choice?["text"] as? String ?? ""
                if let r = choice?["finish_reason"] as? String { reason = r }
            }
            XCTAssertEqual(text, beforeStop, "stream: \(stream)")
            XCTAssertEqual(reason, "stop", "stream: \(stream)")
        }

        // n = 2 greedy choices are both the golden text; logprobs are consistent with greedy choice.
        var twoChoices = try JSONSerialization.jsonObject(with: Data(Self.body(prompt: story["prompt"] as! String, stream: false).utf8)) as! [String: Any]
        twoChoices["n"] = 2
        twoChoices["logprobs"] = 3
        let both = try HTTPTestClient(port: port).request("POST", "/v1/completions",
                                                          json: String(decoding: try JSONSerialization.data(withJSONObject: twoChoices), as: UTF8.self))
        let bothJSON = try both.json()
        let choices = try XCTUnwrap(bothJSON["choices"] as? [[String: Any]])
        XCTAssertEqual(choices.map { $0["index"] as? Int }, [0, 1])
        for choice in choices {
            XCTAssertEqual(choice["text"] as? String, story["expected_completion_text"] as? String)
            let logprobs = try XCTUnwrap(choice["logprobs"] as? [String: Any])
            let tokenLogprobs = try XCTUnwrap(logprobs["token_logprobs"] as? [Double])
            let tops = try XCTUnwrap(logprobs["top_logprobs"] as? [[String: Double]])
            XCTAssertEqual(tokenLogprobs.count, 48)
            XCTAssertEqual((logprobs["tokens"] as? [String])?.joined(), story["expected_completion_text"] as? String)
            for (chosen, top) in zip(tokenLogprobs, tops) {
                XCTAssertLessThanOrEqual(chosen, 0)
                XCTAssertEqual(chosen, top.values.max()!, accuracy: 1e-6)   // greedy picks the most likely token
                XCTAssertEqual(top.count, 3)
            }
        }
        XCTAssertEqual((bothJSON["usage"] as? [String: Any])?["completion_tokens"] as? Int, 96)

        // Chat: the golden chat case, rendered with the GGUF's own template, answered as HuggingFace does.
        let chatCase = try XCTUnwrap(golden.first { $0["id"] as? String == "chat_capital" })
        let chatBody = #"{"messages": [{"role": "user", "content": "What is the capital of France? Answer briefly."}], "temperature": 0, "max_tokens": 48}"#
        let chat = try HTTPTestClient(port: port).request("POST", "/v1/chat/completions", json: chatBody)
        XCTAssertEqual(chat.status, 200, chat.text)
        let chatJSON = try chat.json()
        XCTAssertEqual(chatJSON["object"] as? String, "chat.completion")
        let message = ((chatJSON["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any]
        XCTAssertEqual(message?["role"] as? String, "assistant")
        XCTAssertEqual(message?["content"] as? String, chatCase["expected_completion_text"] as? String)
        XCTAssertEqual(((chatJSON["choices"] as? [[String: Any]])?.first)?["finish_reason"] as? String, "stop")
        XCTAssertEqual((chatJSON["usage"] as? [String: Any])?["prompt_tokens"] as? Int, chatCase["prompt_num_tokens"] as? Int)
        let chatStream = try HTTPTestClient(port: port).request("POST", "/v1/chat/completions",
                                                                json: chatBody.replacingOccurrences(of: "\"max_tokens\": 48", with: "\"max_tokens\": 48, \"stream\": true"))
        var streamedContent = "", sawRole = false
        for event in chatStream.serverSentEvents.dropLast() {
            let chunk = try JSONSerialization.jsonObject(with: Data(event.utf8)) as! [String: Any]
            XCTAssertEqual(chunk["object"] as? String, "chat.completion.chunk")
            let delta = ((chunk["choices"] as? [[String: Any]])?.first)?["delta"] as? [String: Any]
            if delta?["role"] as? String == "assistant" { sawRole = true }
            streamedContent += delta?["content"] as? String ?? ""
        }
        XCTAssertTrue(sawRole)
        XCTAssertEqual(streamedContent, chatCase["expected_completion_text"] as? String)

        // Every golden prompt at once, each on its own connection: the worker batches them, and each answer
        // still equals HuggingFace's greedy continuation.
        let answers = ConcurrentAnswers(count: golden.count)
        let bodies = golden.map { Self.body(prompt: $0["prompt"] as! String, stream: false) }
        DispatchQueue.concurrentPerform(iterations: bodies.count) { i in
            let result = Result {
                try HTTPTestClient(port: port).request("POST", "/v1/completions", json: bodies[i])
            }
            answers.set(i, result)
        }
        for (i, goldenCase) in golden.enumerated() {
            let response = try answers.get(i).get()
            XCTAssertEqual(response.status, 200)
            let text = ((try response.json()["choices"] as? [[String: Any]])?.first)?["text"] as? String
            XCTAssertEqual(text, goldenCase["expected_completion_text"] as? String, "case \(goldenCase["id"]!)")
        }

        let health = try HTTPTestClient(port: port).request("GET", "/health")
        XCTAssertEqual(health.status, 200)

        XCTAssertEqual(server.stop(), 0, server.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the worker socket file was left behind")
    }

    /// Results written by concurrent client threads.
    private final class ConcurrentAnswers: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Result<HTTPTestClient.Response, Error>?]
        init(count: Int) { results = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<HTTPTestClient.Response, Error>) { lock.withLock { results[i] = r } }
        func get(_ i: Int) -> Result<HTTPTestClient.Response, Error> { lock.withLock { results[i]! } }
    }

    /// A greedy completion request body for `prompt` (48 tokens, usage in streams), also used by the other serve tests.
    static func body(prompt: String, stream: Bool) -> String {
        let object: [String: Any] = ["prompt": prompt, "max_tokens": 48, "temperature": 0, "stream": stream,
                                     "stream_options": ["include_usage": true]]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
