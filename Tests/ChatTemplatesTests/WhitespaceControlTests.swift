import XCTest
import ChatTemplates

/// transformers renders chat templates with `trim_blocks=True, lstrip_blocks=True`; these are the
/// rules that most often make a hand-rolled renderer differ by one newline.
final class WhitespaceControlTests: TemplateTestCase {
    func testTrimBlocksRemovesFirstNewlineAfterBlockTag() throws {
        XCTAssertEqual(try render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter")
        XCTAssertEqual(try render("{% if true %}\n\nx{% endif %}"), "\nx")
    }

    func testTrimBlocksDoesNotApplyToExpressions() throws {
        XCTAssertEqual(try render("{{ 'a' }}\nb"), "a\nb")
    }

    func testLstripBlocksRemovesIndentationBeforeBlockTags() throws {
        XCTAssertEqual(try render("{% for i in [1, 2] %}\n    {% if i %}\n    {{ i }}\n    {% endif %}\n{% endfor %}"),
                       "    1\n    2\n")
        XCTAssertEqual(try render("x {% if true %}y{% endif %}"), "x y", "text before the tag on the same line is kept")
        XCTAssertEqual(try render("\t {# note #}\nz"), "z", "comments are lstripped and trimmed too")
    }

    func testMinusStripsAllWhitespaceIncludingNewlines() throws {
        XCTAssertEqual(try render("a  \n\n  {%- if true -%}  \n\n  b  \n  {%- endif -%}\n\n  c"), "abc")
        XCTAssertEqual(try render("a \n {{- 'b' -}} \n c"), "abc")
        XCTAssertEqual(try render("a {#- comment -#} b"), "ab")
    }

    func testPlusDisablesLstripAndTrim() throws {
        XCTAssertEqual(try render("  {%+ if true +%}\nx{% endif %}"), "  \nx")
    }

    func testRawBlocksAndTrailingNewline() throws {
        XCTAssertEqual(try render("{% raw %}{{ not evaluated }}{% endraw %}"), "{{ not evaluated }}")
        XCTAssertEqual(try render("line\n"), "line", "one trailing newline is dropped (keep_trailing_newline=False)")
        XCTAssertEqual(try render("a\r\nb\r\n\r\n"), "a\nb\n")
    }
}
