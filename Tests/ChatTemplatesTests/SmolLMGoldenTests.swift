import Foundation
import XCTest
import ModelFormats
import TestSupport
import ChatTemplates

/// The SmolLM2 chat template reproduces the renders transformers made for the golden cases, and
/// is found in the model's tokenizer_config.json.
final class SmolLMGoldenTests: XCTestCase {
    private let model = "smollm2-135m-instruct-q4_1"

    private struct GoldenFile: Decodable {
        struct Meta: Decodable { var chat_template: String }
        struct Case: Decodable {
            var id: String
            var messages: [JSONValue]
            var add_generation_prompt: Bool
            var rendered: String
        }
        var meta: Meta
        var cases: [Case]
    }

    private func golden() throws -> GoldenFile {
        let url = SharedData.root.appendingPathComponent("golden/\(model)/chat_template_cases.json")
        return try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: url))
    }

    func testGoldenRendersMatchTransformers() throws {
        let file = try golden()
        XCTAssertFalse(file.cases.isEmpty)
        let template = try ChatTemplate(source: file.meta.chat_template)
        for c in file.cases {
            let text = try template.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt,
                                           bosToken: "<|im_start|>", eosToken: "<|im_end|>")
            XCTAssertEqual(text, c.rendered, "\(c.id) add_generation_prompt=\(c.add_generation_prompt)")
        }
    }

    func testLoadFindsTemplateInTokenizerConfig() throws {
        let path = SharedData.smolLMDirectory + "/tokenizer_config.json"
        let template = try XCTUnwrap(try ChatTemplate.load(tokenizerConfig: path))
        XCTAssertEqual(template.source, try golden().meta.chat_template)
        let configuration = try ChatTemplateConfiguration.load(tokenizerConfig: path)
        XCTAssertEqual(configuration.bosToken, "<|im_start|>")
        XCTAssertEqual(configuration.eosToken, "<|im_end|>")
        for c in try golden().cases {
            let text = try template.render(messages: c.messages, addGenerationPrompt: c.add_generation_prompt,
                                           bosToken: configuration.bosToken, eosToken: configuration.eosToken)
            XCTAssertEqual(text, c.rendered, c.id)
        }
    }
}
