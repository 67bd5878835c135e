import Foundation
import ModelFormats

extension JSONValue {
    /// Parses an API request body, answering malformed JSON with an OpenAI-style 400.
    static func parseRequestBody(_ bytes: [UInt8]) throws(OpenAIError) -> JSONValue {
        guard !bytes.isEmpty else { throw .invalid("the request body is empty; expected a JSON object") }
        do { return try JSONValue.parse(Data(bytes)) } catch {
            throw .invalid("the request body is not valid JSON", code: "invalid_json")
        }
    }
}
