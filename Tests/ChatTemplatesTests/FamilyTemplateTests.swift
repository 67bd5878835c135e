import Foundation
import XCTest
import ModelFormats
import ChatTemplates

/// The real templates of common model families (`FamilyTemplateFixtures.swift`) render 2–4 turn
/// conversations exactly as transformers does, with and without the generation prompt, and reject
/// the conversations the templates reject with the template's own message.
final class FamilyTemplateTests: XCTestCase {
    private func check(_ family: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = familyCases.filter { $0.family == family }
        XCTAssertGreaterThanOrEqual(cases.count, 2, "no fixtures for \(family)", file: file, line: line)
        XCTAssert(cases.contains { $0.addGenerationPrompt } && cases.contains { !$0.addGenerationPrompt }, file: file, line: line)
        for c in cases {
            let template = try ChatTemplate(source: c.template)
            let messages = try JSONValue.parse(Data(c.messages.utf8)).array ?? []
            let extra = try JSONValue.parse(Data(c.extra.utf8)).object ?? [:]
            let label = "\(family) / \(c.title) / add_generation_prompt=\(c.addGenerationPrompt)"
            do {
                let text = try template.render(messages: messages, addGenerationPrompt: c.addGenerationPrompt,
                                               bosToken: c.bosToken, eosToken: c.eosToken, extra: extra,
                                               now: TestClock.now, timeZone: TestClock.utc)
                guard case .output(let expected) = c.expected else {
                    XCTFail("\(label): rendered \(text.debugDescription) but transformers fails with \(c.expected)", file: file, line: line)
                    continue
                }
                XCTAssertEqual(text, expected, label, file: file, line: line)
            } catch {
                guard case .raised(let message) = c.expected else {
                    XCTFail("\(label): \(error)", file: file, line: line)
                    continue
                }
                XCTAssertEqual(error, .raised(message), label, file: file, line: line)
            }
        }
    }

    func testLlama2Chat() throws { try check("llama2-chat") }
    func testLlama3Instruct() throws { try check("llama3-instruct") }
    func testLlama31Instruct() throws { try check("llama3.1-instruct") }
    func testLlama32Instruct() throws { try check("llama3.2-instruct") }
    func testMistralV01() throws { try check("mistral-v0.1") }
    func testMistralV03() throws { try check("mistral-v0.3") }
    func testZephyr() throws { try check("zephyr") }
    func testChatML() throws { try check("chatml") }
    func testQwen25() throws { try check("qwen2.5") }
    func testGemma2() throws { try check("gemma2") }
    func testPhi35() throws { try check("phi3.5") }

    func testEveryFixtureFamilyIsChecked() {
        let checked: Set<String> = ["llama2-chat", "llama3-instruct", "llama3.1-instruct", "llama3.2-instruct", "mistral-v0.1",
                                    "mistral-v0.3", "zephyr", "chatml", "qwen2.5", "gemma2", "phi3.5"]
        XCTAssertEqual(Set(familyCases.map(\.family)), checked)
    }

    /// One expectation spelled out by hand from the template's semantics, independent of the generator.
    func testLlama2ChatByHand() throws {
        let template = try ChatTemplate(source: FamilyTemplates.llama2Chat)
        let text = try template.render(messages: [
            ChatMessage(role: "system", text: "Be brief."),
            ChatMessage(role: "user", text: " Hi "),
            ChatMessage(role: "assistant", text: "Hello."),
            ChatMessage(role: "user", text: "Bye"),
        ], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
        // strip() applies to the system block plus the content, so the user's leading space survives.
        XCTAssertEqual(text, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi [/INST] Hello. </s><s>[INST] Bye [/INST]")
    }

    func testLlama2ChatRejectsBadAlternation() throws {
        let template = try ChatTemplate(source: FamilyTemplates.llama2Chat)
        XCTAssertThrowsError(try template.render(messages: [ChatMessage(role: "assistant", text: "first")],
                                                 addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>")) {
            XCTAssertEqual($0 as? ChatTemplateError, .raised("Conversation roles must alternate user/assistant/user/assistant/..."))
        }
    }
}
