import Foundation
import TestSupport

/// A scratch copy of the stories260K checkpoint in a unique temporary directory, with helpers to read and
/// rewrite `model.safetensors` (8-byte little-endian header length, JSON header, data) so tests can damage it.
final class ScratchCheckpoint {
    let directory: String
    var modelPath: String { directory + "/model.safetensors" }

    /// The source files besides the weights.
    static let sideFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]

    init(copyWeights: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("scalellm-modelformats-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in Self.sideFiles {
            try FileManager.default.copyItem(atPath: SharedData.storiesDirectory + "/" + name, toPath: directory + "/" + name)
        }
        if copyWeights { try Self.originalWeights().write(to: URL(fileURLWithPath: modelPath)) }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func originalWeights() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: SharedData.storiesDirectory + "/model.safetensors"))
    }

    /// A parsed safetensors file: the header object and the data section after it.
    struct Safetensors {
        var header: [String: Any]
        var data: Data

        init(_ file: Data) throws {
            let length = Int(file.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            header = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + length))) as! [String: Any]
            data = file.subdata(in: (8 + length)..<file.count)
        }

        init(header: [String: Any], data: Data) {
            self.header = header
            self.data = data
        }

        var tensorNames: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

        func entry(_ name: String) -> [String: Any] { header[name] as! [String: Any] }

        func offsets(_ name: String) -> (start: Int, end: Int) {
            let o = entry(name)["data_offsets"] as! [NSNumber]
            return (o[0].intValue, o[1].intValue)
        }

        /// 8-byte little-endian header length + JSON header + data.
        func serialized() throws -> Data {
            let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
            var length = UInt64(json.count).littleEndian
            var out = Data(bytes: &length, count: 8)
            out.append(json)
            out.append(data)
            return out
        }

        /// A file holding only `names`, with their data repacked contiguously.
        func subset(_ names: [String]) -> Safetensors {
            var header: [String: Any] = ["__metadata__": ["format": "pt"]]
            var data = Data()
            for name in names {
                let (start, end) = offsets(name)
                var e = entry(name)
                e["data_offsets"] = [data.count, data.count + (end - start)]
                header[name] = e
                data.append(self.data.subdata(in: start..<end))
            }
            return Safetensors(header: header, data: data)
        }
    }

    func writeWeights(_ file: Safetensors, name: String = "model.safetensors") throws {
        try file.serialized().write(to: URL(fileURLWithPath: directory + "/" + name))
    }

    func writeWeights(_ data: Data) throws { try data.write(to: URL(fileURLWithPath: modelPath)) }

    func writeJSON(_ object: Any, name: String) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: directory + "/" + name))
    }
}
