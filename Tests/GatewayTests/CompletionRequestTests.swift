import XCTest
@testable import Gateway

/// Request validation: every malformed body is an OpenAI-style 400 naming the parameter.
final class CompletionRequestTests: XCTestCase {
    private func parse(_ json: String) throws(OpenAIError) -> CompletionRequest {
        try CompletionRequest(json: Array(json.utf8))
    }

    private func assertRejected(_ json: String, param: String?, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try parse(json)
            XCTFail("accepted \(json)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.status, 400, json, file: file, line: line)
            XCTAssertEqual(error.param, param, json, file: file, line: line)
            XCTAssertFalse(error.message.isEmpty, file: file, line: line)
        }
    }

    func testDefaultsFollowOpenAI() throws {
        let r = try parse(#"{"prompt": "hi"}"#)
        XCTAssertEqual(r.prompt, .text("hi"))
        XCTAssertEqual(r.parameters.maxTokens, 16)
        XCTAssertEqual(r.parameters.temperature, 1)
        XCTAssertEqual(r.parameters.topP, 1)
        XCTAssertEqual(r.parameters.topK, 0)
        XCTAssertNil(r.parameters.seed)
        XCTAssertFalse(r.parameters.stream)
        XCTAssertFalse(r.parameters.includeUsage)
    }

    func testAllParameters() throws {
        let r = try parse(#"{"model": "m", "prompt": [1, 2, 3], "max_tokens": 5, "temperature": 0, "top_p": 0.5, "top_k": 7, "seed": 42, "stream": true, "stream_options": {"include_usage": true}, "ignore_eos": true, "n": 3, "logprobs": 2, "presence_penalty": 0.5, "frequency_penalty": -1}"#)
        XCTAssertEqual(r.parameters.n, 3)
        XCTAssertEqual(r.topLogprobs, 2)
        XCTAssertEqual(r.parameters.presencePenalty, 0.5)
        XCTAssertEqual(r.parameters.frequencyPenalty, -1)
        XCTAssertEqual(r.parameters.model, "m")
        XCTAssertEqual(r.prompt, .tokens([1, 2, 3]))
        XCTAssertEqual(r.parameters.maxTokens, 5)
        XCTAssertEqual(r.parameters.temperature, 0)
        XCTAssertEqual(r.parameters.topP, 0.5)
        XCTAssertEqual(r.parameters.topK, 7)
        XCTAssertEqual(r.parameters.seed, 42)
        XCTAssertTrue(r.parameters.stream && r.parameters.includeUsage && r.parameters.ignoreEOS)
        XCTAssertEqual(try parse(#"{"prompt": ["one string"]}"#).prompt, .text("one string"))
        XCTAssertEqual(try parse(#"{"prompt": "x", "max_tokens": 3.0}"#).parameters.maxTokens, 3)
        XCTAssertEqual(try parse(#"{"prompt": "x", "max_tokens": 3, "max_completion_tokens": 5}"#).parameters.maxTokens, 5)
        XCTAssertEqual(try parse(#"{"prompt": "x", "stop": "\n"}"#).parameters.stop, ["\n"])
        XCTAssertEqual(try parse(#"{"prompt": "x", "stop": ["a", "b"], "user": "u1"}"#).parameters.stop, ["a", "b"])
    }

    func testRejections() {
        assertRejected("", param: nil)
        assertRejected("{", param: nil)
        assertRejected("[1, 2]", param: nil)
        assertRejected(#"{"max_tokens": 3}"#, param: "prompt")
        assertRejected(#"{"prompt": null}"#, param: "prompt")
        assertRejected(#"{"prompt": 5}"#, param: "prompt")
        assertRejected(#"{"prompt": []}"#, param: "prompt")
        assertRejected(#"{"prompt": [1, "a"]}"#, param: "prompt")
        assertRejected(#"{"prompt": [1.5]}"#, param: "prompt")
        assertRejected(#"{"prompt": [99999999999]}"#, param: "prompt")
        assertRejected(#"{"prompt": "x", "max_tokens": "10"}"#, param: "max_tokens")
        assertRejected(#"{"prompt": "x", "max_tokens": 0}"#, param: "max_tokens")
        assertRejected(#"{"prompt": "x", "max_tokens": 2.5}"#, param: "max_tokens")
        assertRejected(#"{"prompt": "x", "temperature": -1}"#, param: "temperature")
        assertRejected(#"{"prompt": "x", "temperature": 2.5}"#, param: "temperature")
        assertRejected(#"{"prompt": "x", "temperature": true}"#, param: "temperature")
        assertRejected(#"{"prompt": "x", "top_p": 0}"#, param: "top_p")
        assertRejected(#"{"prompt": "x", "top_p": 1.5}"#, param: "top_p")
        assertRejected(#"{"prompt": "x", "stream": 1}"#, param: "stream")
        assertRejected(#"{"prompt": "x", "stream_options": 3}"#, param: "stream_options")
        assertRejected(#"{"prompt": "x", "model": 3}"#, param: "model")
        assertRejected(#"{"prompt": "x", "n": 0}"#, param: "n")
        assertRejected(#"{"prompt": "x", "n": 17}"#, param: "n")
        assertRejected(#"{"prompt": "x", "logprobs": 21}"#, param: "logprobs")
        assertRejected(#"{"prompt": "x", "presence_penalty": 3}"#, param: "presence_penalty")
        assertRejected(#"{"prompt": "x", "frequency_penalty": "a"}"#, param: "frequency_penalty")
        assertRejected(#"{"prompt": "x", "stop": 3}"#, param: "stop")
        assertRejected(#"{"prompt": "x", "stop": ["a", 3]}"#, param: "stop")
        assertRejected(#"{"prompt": "x", "user": 3}"#, param: "user")
    }

    func testErrorBodyShape() throws {
        let error = OpenAIError.invalid("bad \"thing\"\n", param: "p", code: "c")
        let object = try JSONSerialization.jsonObject(with: Data(error.body)) as! [String: Any]
        let inner = try XCTUnwrap(object["error"] as? [String: Any])
        XCTAssertEqual(inner["message"] as? String, "bad \"thing\"\n")
        XCTAssertEqual(inner["type"] as? String, "invalid_request_error")
        XCTAssertEqual(inner["param"] as? String, "p")
        XCTAssertEqual(inner["code"] as? String, "c")
        let nulls = try JSONSerialization.jsonObject(with: Data(OpenAIError.internal("x").body)) as! [String: Any]
        XCTAssertTrue((nulls["error"] as! [String: Any])["param"] is NSNull)
    }

    func testJSONWriterEscapesEveryControlCharacter() throws {
        let text = String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }) + "\"\\é🐶"
        var w = JSONWriter()
        w.object { $0.field("t", text); $0.field("n", 3); $0.field("b", true); $0.field("a") { $0.array { $0.element(1); $0.element("x") } } }
        let object = try JSONSerialization.jsonObject(with: Data(w.bytes)) as! [String: Any]
        XCTAssertEqual(object["t"] as? String, text)
        XCTAssertEqual(object["n"] as? Int, 3)
        XCTAssertEqual(object["b"] as? Bool, true)
        XCTAssertEqual((object["a"] as? [Any])?.count, 2)
    }
}

/// `/v1/chat/completions` bodies.
final class ChatRequestTests: XCTestCase {
    func testParsesMessagesAndChatLogprobs() throws {
        let r = try ChatRequest(json: Array(#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}], "logprobs": true, "top_logprobs": 2, "max_completion_tokens": 7}"#.utf8))
        XCTAssertEqual(r.messages.count, 2)
        XCTAssertEqual(r.topLogprobs, 2)
        XCTAssertEqual(r.parameters.maxTokens, 7)
        XCTAssertTrue(r.addGenerationPrompt)
        XCTAssertEqual(try ChatRequest(json: Array(#"{"messages": [{"role": "user", "content": "x"}]}"#.utf8)).parameters.maxTokens,
                       ChatRequest.defaultMaxTokens)
    }

    /// An unset limit shrinks to the room the prompt leaves; a limit the client set must fit as given.
    func testMaxTokensAgainstTheContext() throws {
        let unset = try ChatRequest(json: Array(#"{"messages": [{"role": "user", "content": "x"}]}"#.utf8)).parameters
        XCTAssertEqual(try unset.maxTokens(afterPrompt: 100, contextLength: 8192), ChatRequest.defaultMaxTokens)
        XCTAssertEqual(try unset.maxTokens(afterPrompt: 8000, contextLength: 8192), 192)
        let given = try ChatRequest(json: Array(#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 500}"#.utf8)).parameters
        XCTAssertEqual(try given.maxTokens(afterPrompt: 7692, contextLength: 8192), 500)
        for (parameters, prompt, param) in [(given, 7693, "max_tokens"), (unset, 8192, nil)] as [(GenerationParameters, Int, String?)] {
            XCTAssertThrowsError(try parameters.maxTokens(afterPrompt: prompt, contextLength: 8192)) { error in
                XCTAssertEqual((error as? OpenAIError)?.code, "context_length_exceeded")
                XCTAssertEqual((error as? OpenAIError)?.param, param)
            }
        }
    }

    func testRejectsMalformedConversations() {
        for body in [#"{}"#, #"{"messages": []}"#, #"{"messages": "hi"}"#, #"{"messages": [{"content": "x"}]}"#,
                     #"{"messages": [{"role": "user", "content": 5}]}"#,
                     #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}"#] {
            XCTAssertThrowsError(try ChatRequest(json: Array(body.utf8)), body) { error in
                XCTAssertEqual((error as? OpenAIError)?.status, 400, body)
            }
        }
    }
}
