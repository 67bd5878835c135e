import XCTest
import ModelFormats
import ChatTemplates

final class StatementTests: TemplateTestCase {
    func testLoopVariables() throws {
        let out = try render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                             + "{{ loop.first|int }}{{ loop.last|int }}{{ loop.length }}"
                             + "<{{ loop.previtem }}{{ loop.nextitem }}> {% endfor %}")
        XCTAssertEqual(out, "1032103<b> 2121003<ac> 3210013<b> ")
    }

    func testFilteredLoopCountsOnlySelectedItemsAndElseBranch() throws {
        let messages = try json(#"[{"role": "system"}, {"role": "user"}, {"role": "assistant"}]"#)
        XCTAssertEqual(try render("{% for m in messages if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}={{ m.role }} {% endfor %}",
                                  ["messages": messages]), "1/2=user 2/2=assistant ")
        XCTAssertEqual(try render("{% for m in messages if false %}x{% else %}none{% endfor %}", ["messages": messages]), "none")
    }

    func testItemsUnpackingAndDictMethods() throws {
        let d = try json(#"{"b": 2, "a": 1}"#)
        XCTAssertEqual(try render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.get('z', 0) }}", ["d": d]), "a=1;b=2;0")
    }

    func testSetInsideLoopDoesNotLeakButNamespaceDoes() throws {
        let source = """
            {% set found = false %}{% set ns = namespace(found=false, count=0) %}
            {% for x in [1, 2, 3] %}{% if x == 2 %}{% set found = true %}{% set ns.found = true %}{% endif %}\
            {% set ns.count = ns.count + 1 %}{% endfor %}
            {{ found }} {{ ns.found }} {{ ns.count }}
            """
        XCTAssertEqual(try render(source), "False True 3")
    }

    func testBreakContinueAndMacros() throws {
        XCTAssertEqual(try render("{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
                       "0246")
        XCTAssertEqual(try render("{% macro tag(name, body='') %}<{{ name }}>{{ body }}</{{ name }}>{% endmacro %}{{ tag('b', body='x') }}{{ tag('i') }}"),
                       "<b>x</b><i></i>")
    }

    func testTransformersContextDefaults() throws {
        let template = try ChatTemplate(source: "{{ bos_token is defined }} {{ eos_token }} {{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ custom }}")
        XCTAssertEqual(try template.render(messages: [] as [JSONValue], addGenerationPrompt: true, bosToken: nil, eosToken: "</s>",
                                           extra: ["custom": .integer(7)]), "False </s> True True True 7")
        XCTAssertEqual(try template.render(messages: [] as [JSONValue], addGenerationPrompt: false, bosToken: "<s>", eosToken: nil,
                                           extra: ["tools": .array([])]), "True  False True False ")
    }
}
