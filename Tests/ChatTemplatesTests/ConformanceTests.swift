import Foundation
import XCTest
import ModelFormats
@testable import ChatTemplates

/// Every case of `ConformanceCases.swift` (generated with jinja2 in transformers' environment) must
/// render to exactly jinja2's output, or fail the way jinja2 failed.
final class ConformanceTests: XCTestCase {
    func testAllCasesMatchJinja2() throws {
        var failures: [String] = []
        for c in conformanceCases {
            let variables: [String: JSONValue]
            do {
                variables = try JSONValue.parse(Data(c.variables.utf8)).object ?? [:]
            } catch {
                failures.append("\(c.name): bad variables JSON")
                continue
            }
            let result: Result<String, ChatTemplateError>
            do {
                let template = try ChatTemplate(source: c.template)
                result = .success(try template.render(variables: variables, now: TestClock.now, timeZone: TestClock.utc))
            } catch {
                result = .failure(error)
            }
            switch (c.expected, result) {
            case (.output(let expected), .success(let got)):
                if got != expected { failures.append("\(c.name):\n  expected \(expected.debugDescription)\n  got      \(got.debugDescription)") }
            case (.raised(let expected), .failure(.raised(let got))):
                if got != expected { failures.append("\(c.name): raised \(got.debugDescription), expected \(expected.debugDescription)") }
            case (.error, .failure(let error)):
                if case .raised = error { failures.append("\(c.name): raised instead of failing: \(error)") }
            default:
                failures.append("\(c.name): expected \(c.expected), got \(result)")
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) of \(conformanceCases.count) cases differ from jinja2:\n" + failures.joined(separator: "\n"))
    }
}
