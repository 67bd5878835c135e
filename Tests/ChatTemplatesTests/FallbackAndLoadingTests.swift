import Foundation
import XCTest
import ModelFormats
import ChatTemplates

final class FallbackAndLoadingTests: TemplateTestCase {
    func testFallbackIsAPlainTranscript() throws {
        let messages = [
            ChatMessage(role: "system", text: "Be nice."),
            ChatMessage(role: "user", content: .array([
                .object(["type": .string("text"), "text": .string("Look at ")]),
                .object(["type": .string("image_url"), "image_url": .string("x")]),
                .object(["type": .string("text"), "text": .string("this")]),
            ])),
            ChatMessage(role: "assistant", content: .null, extra: ["tool_calls": .array([])]),
        ]
        let template = ChatTemplate.fallback
        XCTAssertEqual(try template.render(messages: messages, addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>"),
                       "system: Be nice.\nuser: Look at this\nassistant: \n")
        XCTAssertEqual(try template.render(messages: [ChatMessage(role: "user", text: "Hi")], addGenerationPrompt: true,
                                           bosToken: nil, eosToken: nil),
                       "user: Hi\nassistant:")
    }

    func testChatMessageJSONRoundTrip() throws {
        let json = try self.json(#"{"role": "tool", "content": "21 C", "tool_call_id": "abc"}"#)
        let message = try XCTUnwrap(ChatMessage(json: json))
        XCTAssertEqual(message.role, "tool")
        XCTAssertEqual(message.extra["tool_call_id"], .string("abc"))
        XCTAssertEqual(message.json, json)
        XCTAssertNil(ChatMessage(json: .string("not a message")))
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("chat-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func writeConfig(_ json: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("tokenizer_config.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testLoadVariants() throws {
        let dir = try temporaryDirectory()
        var path = try writeConfig(#"{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>"}"#, in: dir)
        XCTAssertNil(try ChatTemplate.load(tokenizerConfig: path), "no template → nil (use the fallback)")
        XCTAssertEqual(try ChatTemplateConfiguration.load(tokenizerConfig: path).bosToken, "<s>")

        path = try writeConfig(#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ 1 }}"}]}"#, in: dir)
        XCTAssertEqual(try ChatTemplate.load(tokenizerConfig: path)?.render(variables: [:]), "D1")

        path = try writeConfig(#"{"chat_template": [{"name": "tool_use", "template": "T"}]}"#, in: dir)
        XCTAssertThrowsError(try ChatTemplate.load(tokenizerConfig: path)) {
            guard case .invalidConfig? = $0 as? ChatTemplateError else { return XCTFail("\($0)") }
        }

        path = try writeConfig(#"{"chat_template": "{% if %}"}"#, in: dir)
        XCTAssertThrowsError(try ChatTemplate.load(tokenizerConfig: path)) {
            guard case .syntax? = $0 as? ChatTemplateError else { return XCTFail("\($0)") }
        }

        path = try writeConfig(#"{"chat_template": "from config"}"#, in: dir)
        try Data("from chat_template.jinja\n".utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
        XCTAssertEqual(try ChatTemplate.load(tokenizerConfig: path)?.render(variables: [:]), "from chat_template.jinja")

        XCTAssertThrowsError(try ChatTemplate.load(tokenizerConfig: dir.appendingPathComponent("missing.json").path)) {
            guard case .invalidConfig? = $0 as? ChatTemplateError else { return XCTFail("\($0)") }
        }
    }

    func testConcurrentRendersOfOneTemplate() throws {
        let template = try ChatTemplate(source: FamilyTemplates.qwen25)
        let messages = [ChatMessage(role: "user", text: "Hi"), ChatMessage(role: "assistant", text: "Hello")]
        let expected = try template.render(messages: messages, addGenerationPrompt: true, bosToken: nil, eosToken: "<|im_end|>")
        let lock = NSLock()
        nonisolated(unsafe) var mismatches = 0
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let text = try? template.render(messages: messages, addGenerationPrompt: true, bosToken: nil, eosToken: "<|im_end|>")
            if text != expected {
                lock.lock()
                mismatches += 1
                lock.unlock()
            }
        }
        XCTAssertEqual(mismatches, 0)
    }
}
