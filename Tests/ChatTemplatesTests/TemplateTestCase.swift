import Foundation
import XCTest
import ModelFormats
import ChatTemplates

/// Shorthands for rendering small templates in tests.
class TemplateTestCase: XCTestCase {
    func render(_ source: String, _ variables: [String: JSONValue] = [:],
                limits: ChatTemplateLimits = .standard) throws -> String {
        try ChatTemplate(source: source, limits: limits)
            .render(variables: variables, now: TestClock.now, timeZone: TestClock.utc)
    }

    /// The error thrown while parsing or rendering `source`, or nil if it succeeds.
    func error(_ source: String, _ variables: [String: JSONValue] = [:],
               limits: ChatTemplateLimits = .standard) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate(source: source, limits: limits)
                .render(variables: variables, now: TestClock.now, timeZone: TestClock.utc)
            return nil
        } catch {
            return error
        }
    }

    func json(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }
}
