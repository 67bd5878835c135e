import Foundation

/// A HuggingFace checkpoint directory as `FixtureGGUFConverter` reads it: `config.json`, the tokenizer files, and
/// the tensors of a single `model.safetensors` decoded to float32. It reads the files itself, not through
/// ModelFormats, so that the GGUF files it helps write do not depend on the code they are used to test.
struct HFCheckpoint {
    /// A tensor in HuggingFace layout: row-major, outermost dimension first.
    struct Tensor {
        var shape: [Int]
        var values: [Float]
    }

    let directory: URL
    /// `config.json`.
    let config: [String: Any]
    /// The tensor names in `model.safetensors`, sorted as the safetensors format orders its header (by name).
    let tensorNames: [String]
    private let data: Data
    private let entries: [String: (dtype: String, shape: [Int], start: Int, end: Int)]

    init(directory: String) throws {
        self.directory = URL(fileURLWithPath: directory)
        config = try Self.jsonObject(self.directory.appendingPathComponent("config.json"))
        let file = self.directory.appendingPathComponent("model.safetensors")
        data = try Data(contentsOf: file)
        guard data.count >= 8 else { throw FixtureGGUFConverter.ConversionError("\(file.path) is too short for a safetensors header") }
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        guard headerLength <= data.count - 8,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any] else {
            throw FixtureGGUFConverter.ConversionError("\(file.path) has no valid safetensors header")
        }
        var entries: [String: (dtype: String, shape: [Int], start: Int, end: Int)] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2,
                  0 <= offsets[0], offsets[0] <= offsets[1], 8 + headerLength + offsets[1] <= data.count else {
                throw FixtureGGUFConverter.ConversionError("\(file.path): bad header entry for \(name)")
            }
            entries[name] = (dtype, shape, 8 + headerLength + offsets[0], 8 + headerLength + offsets[1])
        }
        self.entries = entries
        tensorNames = entries.keys.sorted()
    }

    /// The `config.json` number under the first of `keys` present (JSON null counts as absent): llama.cpp's converter
    /// looks hyperparameters up under several spellings (`find_hparam`).
    func number(_ keys: String...) -> NSNumber? {
        keys.lazy.compactMap { config[$0] as? NSNumber }.first
    }

    /// A `config.json` integer the conversion cannot do without.
    func int(_ key: String) throws -> Int {
        guard let value = number(key) else { throw FixtureGGUFConverter.ConversionError("config.json has no \(key)") }
        return value.intValue
    }

    /// A `config.json` number the conversion cannot do without.
    func double(_ key: String) throws -> Double {
        guard let value = number(key) else { throw FixtureGGUFConverter.ConversionError("config.json has no \(key)") }
        return value.doubleValue
    }

    /// A JSON object file of the directory (`tokenizer.json`, `tokenizer_config.json`).
    func json(_ file: String) throws -> [String: Any] {
        try Self.jsonObject(directory.appendingPathComponent(file))
    }

    /// Tensor `name`, decoded exactly to float32 from BF16 or F32.
    func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw FixtureGGUFConverter.ConversionError("no tensor \(name) in model.safetensors") }
        let count = entry.shape.reduce(1, *)
        let width = entry.dtype == "BF16" ? 2 : entry.dtype == "F32" ? 4 : 0
        guard width > 0 else { throw FixtureGGUFConverter.ConversionError("\(name) is \(entry.dtype); only BF16 and F32 are read") }
        guard entry.end - entry.start == count * width else {
            throw FixtureGGUFConverter.ConversionError("\(name): \(entry.end - entry.start) bytes for shape \(entry.shape)")
        }
        let values = data.subdata(in: entry.start..<entry.end).withUnsafeBytes { raw -> [Float] in
            (0..<count).map { i in
                width == 2 ? Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                           : Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
            }
        }
        return Tensor(shape: entry.shape, values: values)
    }

    private static func jsonObject(_ url: URL) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw FixtureGGUFConverter.ConversionError("\(url.path) is not a JSON object")
        }
        return object
    }
}
