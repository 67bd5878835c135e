import XCTest
import ModelFormats
import ChatTemplates

final class ExpressionTests: TemplateTestCase {
    func testUndefinedIsEmptyFalsyAndPropagatesThroughAccess() throws {
        XCTAssertEqual(try render("[{{ nope }}]"), "[]")
        XCTAssertEqual(try render("{% if nope %}y{% else %}n{% endif %}"), "n")
        XCTAssertEqual(try render("[{{ nope.field.deeper }}][{{ nope['k'][0] }}]"), "[][]")
        XCTAssertEqual(try render("{{ nope is defined }} {{ nope.x is defined }} {{ nope|default('d') }}"), "False False d")
        XCTAssertEqual(try render("{% for x in nope %}x{% endfor %}{{ nope|length }}"), "0")
        XCTAssertEqual(try render("[{{ messages[3].content }}]", ["messages": .array([])]), "[]")
        guard case .runtime(_, _, let message)? = error("{{ nope + 1 }}") else { return XCTFail("arithmetic on undefined must fail") }
        XCTAssertEqual(message, "'nope' is undefined")
    }

    func testSlicesAndIndexing() throws {
        let vars: [String: JSONValue] = ["xs": .array((1...5).map { .integer($0) }), "s": .string("héllo")]
        XCTAssertEqual(try render("{{ xs[1:] }} {{ xs[:2] }} {{ xs[::-1] }} {{ xs[-2:] }} {{ xs[1:4:2] }} {{ xs[-1] }}", vars),
                       "[2, 3, 4, 5] [1, 2] [5, 4, 3, 2, 1] [4, 5] [2, 4] 5")
        XCTAssertEqual(try render("{{ s[1] }} {{ s[::-1] }} {{ s[1:3] }} {{ s|length }}", vars), "é olléh él 5")
    }

    func testStringConcatenationAndMethods() throws {
        let message: JSONValue = .object(["role": .string("user"), "content": .string("  Hi there  ")])
        XCTAssertEqual(try render("{{ '<|' + m['role'] + '|>' ~ m.content.strip() ~ 1 }}", ["m": message]), "<|user|>Hi there1")
        XCTAssertEqual(try render("{{ 'a,b'.split(',') }} {{ 'Hi'.startswith('H') }} {{ 'x'.upper() + 'Y'.lower() }}"),
                       "['a', 'b'] True Xy")
    }

    func testFilters() throws {
        XCTAssertEqual(try render("{{ '  pad  '|trim }}|{{ [1, 2, 3]|join(', ') }}|{{ 'abc'|upper }}|{{ [3, 1, 2]|sort|first }}"),
                       "pad|1, 2, 3|ABC|1")
        let tools: JSONValue = .array([.object(["name": .string("f"), "args": .array([.integer(1), .number(2.5)])])])
        XCTAssertEqual(try render("{{ tools|tojson }}", ["tools": tools]), #"[{"args": [1, 2.5], "name": "f"}]"#)
        XCTAssertEqual(try render("{{ tools[0]|tojson(indent=2) }}", ["tools": tools]),
                       "{\n  \"args\": [\n    1,\n    2.5\n  ],\n  \"name\": \"f\"\n}")
        let people = try json(#"[{"n": "a", "ok": true}, {"n": "b", "ok": false}, {"n": "c"}]"#)
        XCTAssertEqual(try render("{{ p|selectattr('ok')|map(attribute='n')|join }}{{ p|rejectattr('ok')|map(attribute='n')|join }}",
                                  ["p": people]), "abc")
        XCTAssertEqual(try render("{{ p|selectattr('ok', 'defined')|list|length }}", ["p": people]), "2")
    }

    func testOperatorsFollowPython() throws {
        XCTAssertEqual(try render("{{ 7 // -2 }} {{ -7 % 3 }} {{ 1 / 2 }} {{ 2 ** 10 }} {{ 'ab' * 2 }} {{ 1 == 1.0 }} {{ 3 in [1, 3] }}"),
                       "-4 2 0.5 1024 abab True True")
        XCTAssertEqual(try render("{{ 'x' if 1 > 2 else 'y' }} {{ not 0 and 'z' }} {{ 0 or none }}"), "y z None")
    }

    func testRaiseExceptionCarriesTheTemplatesMessage() {
        XCTAssertEqual(error("{{ raise_exception('Bad roles: ' ~ 3) }}"), .raised("Bad roles: 3"))
    }

    func testStrftimeNowUsesTheInjectedClockAndTimeZone() throws {
        let template = try ChatTemplate(source: "{{ strftime_now('%d %b %Y %H:%M') }}")
        XCTAssertEqual(try template.render(variables: [:], now: TestClock.now, timeZone: TestClock.utc), "09 Mar 2025 08:07")
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        XCTAssertEqual(try template.render(variables: [:], now: TestClock.now, timeZone: tokyo), "09 Mar 2025 17:07")
    }
}
