import Foundation
import TestSupport
import XCTest
@testable import ModelFormats

/// Every GGUF type decodes bit for bit to ggml's own decoding of 48 random blocks (`golden/ggml-quants/<TYPE>.json`,
/// made by ggml's C `to_float` and cross-checked with gguf-py): the engine holds exactly the weights llama.cpp does.
final class GGMLReferenceVectorTests: XCTestCase {
    func testEveryTypeDecodesLikeGGML() throws {
        let directory = SharedData.root.appendingPathComponent("golden/ggml-quants")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files.count, 14, "one file per type")
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            let name = json["type"] as! String
            let type = try XCTUnwrap(TensorType(rawValue: name), "\(name) is read")
            XCTAssertEqual(type.ggmlType, (json["ggml_type_id"] as! NSNumber).uint32Value, name)
            XCTAssertEqual(type.blockElements, (json["block_elements"] as! NSNumber).intValue, name)
            XCTAssertEqual(type.blockBytes, (json["block_bytes"] as! NSNumber).intValue, name)
            let blocks = (json["blocks_hex"] as! [String]).map(Self.bytes(hex:))
            let expected = (json["values"] as! [NSNumber]).map { $0.floatValue }
            let encoded = blocks.flatMap { $0 }
            XCTAssertEqual(encoded.count, blocks.count * type.blockBytes, name)
            var decoded = [Float](repeating: .nan, count: expected.count)
            encoded.withUnsafeBytes { Dequantize.decode(type, from: $0.baseAddress!, count: expected.count, into: &decoded) }
            let mismatches = zip(decoded, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertTrue(mismatches.isEmpty, "\(name): \(mismatches.count) values differ, first at \(mismatches.first.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")")
        }
    }

    /// NSNumber from JSON holds a double; every reference value is a float32 written exactly, so `floatValue` is
    /// exact — but -0.0 must survive, which it does only if the JSON kept it: checked here on the types whose
    /// blocks have negative scales.
    func testReferenceKeepsSignedZeros() throws {
        let data = try Data(contentsOf: SharedData.root.appendingPathComponent("golden/ggml-quants/Q4_0.json"))
        let values = (try JSONSerialization.jsonObject(with: data) as! [String: Any])["values"] as! [NSNumber]
        XCTAssertTrue(values.contains { $0.floatValue == 0 && $0.floatValue.sign == .minus },
                      "Q4_0 with negative scales decodes some zeros to -0.0")
    }

    /// Types outside the list are refused by id.
    func testUnknownTypesAreNotRead() {
        for id: UInt32 in [9, 15, 16, 17, 18, 19, 21, 22, 24, 28, 29, 31, 99] { XCTAssertNil(TensorType(ggmlType: id), "type \(id)") }
    }

    private static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }
}
