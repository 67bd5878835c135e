import XCTest
@testable import Gateway

final class StopStringMatcherTests: XCTestCase {
    /// Feeds `pieces` and returns everything emitted plus whether it stopped.
    private func run(_ stops: [String], _ pieces: [String]) -> (String, Bool) {
        var m = StopStringMatcher(stops)
        var out = ""
        for p in pieces { out += m.feed(p) }
        out += m.flush()
        return (out, m.stopped)
    }

    func testStopStringAcrossPiecesIsFoundAndNotEmitted() {
        XCTAssertEqual(run(["END"], ["Hello E", "N", "D and more"]).0, "Hello ")
        XCTAssertTrue(run(["END"], ["Hello E", "N", "D and more"]).1)
    }

    func testFalseStartsAreReleased() {
        XCTAssertEqual(run(["END"], ["EN", "X", "E"]).0, "ENXE")
        XCTAssertFalse(run(["END"], ["EN", "X", "E"]).1)
    }

    func testEarliestOfSeveralStopsWins() {
        XCTAssertEqual(run(["bb", "a b"], ["x a bb"]).0, "x ")
        XCTAssertEqual(run(["\n\n", "."], ["one.\n\ntwo"]).0, "one")
    }

    func testHoldsBackOnlyWhatCouldStillMatch() {
        var m = StopStringMatcher(["<|end|>"])
        XCTAssertEqual(m.feed("text <|e"), "text ")
        XCTAssertEqual(m.feed("nx"), "<|enx")
    }

    func testEveryCharacterSplitOfUnicodeText() {
        let text = "Café 🐶 — naïve STOP after"
        let scalars = Array(text.unicodeScalars)
        for cut in 0...scalars.count {
            let a = String(String.UnicodeScalarView(scalars[..<cut])), b = String(String.UnicodeScalarView(scalars[cut...]))
            XCTAssertEqual(run(["STOP"], [a, b]).0, "Café 🐶 — naïve ", "cut at \(cut)")
        }
    }

    func testNoStopsPassesThrough() {
        var m = StopStringMatcher(["", ""])
        XCTAssertTrue(m.isEmpty)
        XCTAssertEqual(m.feed("abc"), "abc")
    }
}
