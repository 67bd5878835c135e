import Foundation
import XCTest
import ChatTemplates

final class ErrorAndLimitTests: TemplateTestCase {
    private func syntaxPosition(_ source: String) -> (Int, Int)? {
        guard case .syntax(let line, let column, _)? = error(source) else { return nil }
        return (line, column)
    }

    func testSyntaxErrorsReportLineAndColumn() {
        XCTAssert(syntaxPosition("{% if x %}\n  {{ 1 + }}\n{% endif %}")! == (2, 10), "missing operand")
        XCTAssert(syntaxPosition("{% for x in xs %}\nabc")! == (2, 4), "unclosed for")
        XCTAssert(syntaxPosition("a\n  {% foo %}")! == (2, 6), "unknown tag")
        XCTAssert(syntaxPosition("{{ x|nope }}")! == (1, 6), "unknown filter")
        XCTAssert(syntaxPosition("{{ x is nope }}")! == (1, 9), "unknown test")
        XCTAssert(syntaxPosition("{{ 'abc }}")! == (1, 4), "unterminated string")
        XCTAssert(syntaxPosition("{{ a ! b }}")! == (1, 6), "unexpected character")
        XCTAssert(syntaxPosition("{{ (1 + 2 }}")! == (1, 11), "unbalanced parenthesis")
        XCTAssert(syntaxPosition("x\n{# never closed")! == (2, 1), "unclosed comment")
        XCTAssert(syntaxPosition("{% break %}")! == (1, 4), "break outside a loop")
        XCTAssert(syntaxPosition("{% include 'other' %}")! == (1, 4), "unsupported tag")
        XCTAssert(syntaxPosition("{% endif %}")! == (1, 4), "stray end tag")
    }

    func testErrorDescriptions() {
        XCTAssertEqual(ChatTemplateError.syntax(line: 2, column: 10, message: "unexpected 'x'").description,
                       "chat template syntax error at line 2, column 10: unexpected 'x'")
        XCTAssertEqual(ChatTemplateError.raised("Roles must alternate").description, "Roles must alternate")
    }

    func testRuntimeErrorsReportTheExpressionPosition() {
        XCTAssertEqual(error("{{ 1 }}\n{{ 'a' + 1 }}"),
                       .runtime(line: 2, column: 8, message: "can only concatenate str (not \"int\") to str"))
        guard case .runtime(1, _, let message)? = error("{{ 5() }}") else { return XCTFail() }
        XCTAssertEqual(message, "'int' object is not callable")
    }

    func testRunawayLoopsHitTheIterationCap() {
        let small = ChatTemplateLimits(maxIterations: 1_000)
        XCTAssertEqual(error("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", limits: small),
                       .limitExceeded("more than 1000 loop iterations"))
        XCTAssertNil(error("{% for i in range(10) %}{% for j in range(99) %}{% endfor %}{% endfor %}", limits: small))
        guard case .limitExceeded? = error("{% for i in range(10**9) %}{% endfor %}") else {
            return XCTFail("huge ranges are refused before any allocation")
        }
    }

    func testRunawayRecursionAndOutputAreCapped() {
        guard case .limitExceeded? = error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}") else {
            return XCTFail("unbounded macro recursion")
        }
        guard case .limitExceeded? = error("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}") else {
            return XCTFail("unbounded recursive loop")
        }
        guard case .limitExceeded? = error("{{ 'x' * 10**12 }}") else { return XCTFail("string repetition") }
        let tiny = ChatTemplateLimits(maxOutputBytes: 10_000)
        guard case .limitExceeded? = error("{% for i in range(1000) %}{{ 'abcdefghijklmnop' }}{% endfor %}", limits: tiny) else {
            return XCTFail("output size")
        }
    }

    func testDeepNestingIsASyntaxErrorNotACrash() throws {
        let deep = "{{ " + String(repeating: "(", count: 5_000) + "1" + String(repeating: ")", count: 5_000) + " }}"
        guard case .syntax(_, _, let message)? = error(deep) else { return XCTFail("deep nesting must be refused") }
        XCTAssert(message.contains("nesting"), message)
        let deepIfs = String(repeating: "{% if true %}", count: 1_000) + String(repeating: "{% endif %}", count: 1_000)
        guard case .syntax? = error(deepIfs) else { return XCTFail("deep block nesting must be refused") }
        let filterChain = "{{ 'x'" + String(repeating: "|trim", count: 10_000) + " }}"
        guard case .syntax? = error(filterChain) else { return XCTFail("a tree 10 000 levels high must be refused") }
    }

    func testLongOperatorChainsAreFlatNotDeep() throws {
        XCTAssertEqual(try render("{{ 1" + String(repeating: " + 1", count: 10_000) + " }}"), "10001")
        XCTAssertEqual(try render("{{ ''" + String(repeating: " + 'ab'", count: 2_000) + " }}").count, 4_000)
        XCTAssertEqual(try render("{{ 0" + String(repeating: " or 0", count: 5_000) + " or 'last' }}"), "last")
        XCTAssertEqual(try render("{{ 2 ** 2 ** 3 }} {{ 10 - 2 - 3 }} {{ 2 * 3 % 4 // 1 }}"), "64 5 2")
    }

    /// At the default limits the deepest templates the parser accepts, and runaway macro recursion,
    /// stay within a 512 KiB stack (the size of secondary threads on some platforms) even in
    /// unoptimised builds; one level deeper is a syntax error.
    func testDefaultLimitsFitInASmallStack() {
        let n = ChatTemplateLimits.standard.maxNestingDepth
        @Sendable func shapes(_ k: Int) -> [String] {
            [
                "{{ " + String(repeating: "(", count: k) + "1" + String(repeating: ")", count: k) + " }}",
                "{{ " + String(repeating: "dict(a=", count: k) + "1" + String(repeating: ")", count: k) + " }}",
                "{{ " + String(repeating: "[", count: k) + "1" + String(repeating: "]", count: k) + " }}",
                "{{ x" + String(repeating: "[0]", count: k) + " }}",
                String(repeating: "{% if true %}", count: k) + "1" + String(repeating: "{% endif %}", count: k),
            ]
        }
        let runaway = "{% macro f(n) %}" + String(repeating: "{% if true %}", count: 8) + "{{ f(n + 1) }}"
            + String(repeating: "{% endif %}", count: 8) + "{% endmacro %}{{ f(0) }}"
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failures: [String] = []
        let thread = Thread {
            for source in shapes(n - 1) {
                do {
                    let out = try ChatTemplate(source: source).render(variables: ["x": .array([])])
                    if !(out == "1" || out == "" || out.hasPrefix("{'a': ") || out.hasPrefix("[[")) {
                        failures.append("unexpected output \(out) for \(source.prefix(30))")
                    }
                } catch {
                    failures.append("\(source.prefix(30)): \(error)")
                }
            }
            for source in shapes(n + 1) {
                do {
                    _ = try ChatTemplate(source: source)
                    failures.append("accepted nesting \(n + 1): \(source.prefix(30))")
                } catch {
                    if case .syntax? = error as? ChatTemplateError {} else { failures.append("\(error)") }
                }
            }
            do {
                _ = try ChatTemplate(source: runaway).render(variables: [:])
                failures.append("runaway recursion rendered")
            } catch {
                if case .limitExceeded? = error as? ChatTemplateError {} else { failures.append("\(error)") }
            }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
        XCTAssertEqual(failures, [])
    }
}
