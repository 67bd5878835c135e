import Foundation
import XCTest
import TestSupport
@testable import ModelFormats

/// ModelCheckpoint on damaged copies of the real checkpoints: every failure is a specific ModelFormatError whose
/// description names the offending file, never a crash.
final class CheckpointErrorTests: XCTestCase {
    /// The error opening `path` throws (nil when it opens).
    private func openError(_ path: String) -> ModelFormatError? {
        do {
            _ = try ModelCheckpoint(path: path)
            return nil
        } catch {
            return error
        }
    }

    /// Opens `path`, expects an error, checks that its description contains `namedPath`, and returns it.
    private func expectError(_ path: String, naming namedPath: String,
                             file: StaticString = #filePath, line: UInt = #line) -> ModelFormatError? {
        guard let error = openError(path) else {
            XCTFail("\(path) opened without error", file: file, line: line)
            return nil
        }
        XCTAssertTrue(error.description.contains(namedPath), "'\(error.description)' does not name \(namedPath)", file: file, line: line)
        return error
    }

    private func assertCorruptHeader(_ error: ModelFormatError?, path: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .corruptHeader(let p, _)? = error else {
            XCTFail("expected corruptHeader, got \(String(describing: error))", file: file, line: line)
            return
        }
        XCTAssertEqual(p, path, file: file, line: line)
    }

    func testIntactCopyOpens() throws {
        let scratch = try ScratchCheckpoint()
        XCTAssertNil(openError(scratch.directory))
        // Re-serialising the header (the helper the other tests use) keeps the file valid.
        try scratch.writeWeights(ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights()))
        XCTAssertNil(openError(scratch.directory))
    }

    // (a)
    func testTruncatedWeightsNameATruncatedTensor() throws {
        let scratch = try ScratchCheckpoint()
        let original = try ScratchCheckpoint.originalWeights()
        let parsed = try ScratchCheckpoint.Safetensors(original)
        let truncated = original.prefix(original.count - 1000)
        try scratch.writeWeights(Data(truncated))
        let dataStart = original.count - parsed.data.count
        // The tensors whose bytes now run past the end of the file.
        let cut = Set(parsed.tensorNames.filter { dataStart + parsed.offsets($0).end > truncated.count })
        XCTAssertFalse(cut.isEmpty)
        let error = expectError(scratch.directory, naming: scratch.modelPath)
        guard case .truncatedTensor(let path, let tensor)? = error else { return XCTFail("expected truncatedTensor, got \(String(describing: error))") }
        XCTAssertEqual(path, scratch.modelPath)
        XCTAssertTrue(cut.contains(tensor), "\(tensor) is not one of the cut tensors \(cut.sorted())")
        XCTAssertTrue(error!.description.contains(tensor))
    }

    // (b)
    func testHeaderLengthBeyondTheFile() throws {
        let scratch = try ScratchCheckpoint()
        var bytes = try ScratchCheckpoint.originalWeights()
        for length in [UInt64(bytes.count), UInt64(bytes.count - 7), UInt64.max, 1 << 40] {
            withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            try scratch.writeWeights(bytes)
            assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)
        }
        // Shorter than the length field itself.
        try scratch.writeWeights(Data([1, 2, 3]))
        assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)
    }

    // (c)
    func testGarbageHeaderJSON() throws {
        let scratch = try ScratchCheckpoint()
        var bytes = try ScratchCheckpoint.originalWeights()
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        bytes.replaceSubrange(8..<(8 + length), with: Data(repeating: UInt8(ascii: "x"), count: length))
        try scratch.writeWeights(bytes)
        assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)

        // Valid JSON but not an object, and an entry without data_offsets.
        var parsed = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        var entry = parsed.entry("model.norm.weight")
        entry["data_offsets"] = nil
        parsed.header["model.norm.weight"] = entry
        try scratch.writeWeights(parsed)
        assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)
        var array = Data()
        let json = Data("[1, 2, 3]".utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { array.append(contentsOf: $0) }
        array.append(json)
        try scratch.writeWeights(array)
        assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)
    }

    // (d)
    func testUnsupportedDType() throws {
        let scratch = try ScratchCheckpoint()
        var parsed = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        var entry = parsed.entry("model.norm.weight")
        entry["dtype"] = "I64"
        entry["shape"] = [32]   // 32 × 8 bytes = the 256 bytes the F32 tensor had
        parsed.header["model.norm.weight"] = entry
        try scratch.writeWeights(parsed)
        let error = expectError(scratch.directory, naming: scratch.modelPath)
        XCTAssertEqual(error, .unsupportedTensorType(path: scratch.modelPath, tensor: "model.norm.weight", type: "I64"))
        XCTAssertTrue(error?.description.contains("model.norm.weight") ?? false)
    }

    // (e)
    func testUnsupportedArchitecture() throws {
        let scratch = try ScratchCheckpoint()
        let configPath = scratch.directory + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        config["architectures"] = ["FalconForCausalLM"]
        config["model_type"] = "falcon"
        try scratch.writeJSON(config, name: "config.json")
        let error = expectError(scratch.directory, naming: configPath)
        XCTAssertEqual(error, .unsupportedArchitecture(path: configPath, architecture: "FalconForCausalLM"))
        XCTAssertTrue(error?.description.contains("FalconForCausalLM") ?? false)
        XCTAssertTrue(error?.description.contains("Gemma3ForCausalLM") ?? false, "the error lists what is supported")
    }

    /// A family option the forward pass does not implement is refused by name, never computed wrongly.
    func testUnsupportedFamilyOptionsAreRefusedByName() throws {
        let options: [(key: String, value: Any, named: String)] = [
            ("rope_scaling", ["rope_type": "yarn", "factor": 4.0], "yarn"),
            ("partial_rotary_factor", 0.5, "partial_rotary_factor"),
            ("hidden_act", "gelu", "gelu"),
            ("mlp_bias", true, "mlp_bias"),
            ("layer_types", "chunked_attention", "chunked_attention"),   // for every layer
        ]
        for option in options {
            let scratch = try ScratchCheckpoint()
            let configPath = scratch.directory + "/config.json"
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
            let layerCount = (config["num_hidden_layers"] as! NSNumber).intValue
            config[option.key] = option.key == "layer_types" ? Array(repeating: option.value, count: layerCount) : option.value
            try scratch.writeJSON(config, name: "config.json")
            let error = expectError(scratch.directory, naming: configPath)
            guard case .invalidConfig = error else { XCTFail("\(option.key): \(String(describing: error))"); continue }
            XCTAssertTrue(error?.description.contains(option.named) ?? false, "\(option.key): \(String(describing: error))")
        }
    }

    /// Token ids that do not fit in Int32 are configuration errors naming the file, in config.json and in
    /// generation_config.json (whose EOS list overrides config.json's).
    func testTokenIDsOutsideInt32() throws {
        for (name, key, value) in [("config.json", "bos_token_id", 4_294_967_296 as Any), ("config.json", "eos_token_id", 2.5),
                                   ("generation_config.json", "eos_token_id", [2, 1e12])] {
            let scratch = try ScratchCheckpoint()
            let path = scratch.directory + "/" + name
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            object[key] = value
            try scratch.writeJSON(object, name: name)
            guard case .invalidConfig(let p, let reason)? = expectError(scratch.directory, naming: path) else {
                return XCTFail("\(name) \(key): expected invalidConfig")
            }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains(key), reason)
        }
    }

    // (f)
    func testMissingTensor() throws {
        let scratch = try ScratchCheckpoint()
        var parsed = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        parsed.header["model.layers.0.mlp.up_proj.weight"] = nil
        try scratch.writeWeights(parsed)
        let error = expectError(scratch.directory, naming: scratch.directory)
        XCTAssertEqual(error, .missingTensor(path: scratch.directory, tensor: "model.layers.0.mlp.up_proj.weight"))
    }

    // (g)
    func testMisshapedTensor() throws {
        let scratch = try ScratchCheckpoint()
        let name = "model.layers.0.self_attn.k_proj.weight"
        let original = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        XCTAssertEqual((original.entry(name)["shape"] as! [NSNumber]).map(\.intValue), [32, 64])

        // Swapped dimensions: the byte count still matches, so it is the shape check that rejects it.
        var swapped = original
        var entry = swapped.entry(name)
        entry["shape"] = [64, 32]
        swapped.header[name] = entry
        try scratch.writeWeights(swapped)
        let error = expectError(scratch.directory, naming: scratch.modelPath)
        XCTAssertEqual(error, .tensorShapeMismatch(path: scratch.modelPath, tensor: name, expected: [32, 64], found: [64, 32]))

        // A shape whose size disagrees with the declared byte range.
        var wrongSize = original
        entry["shape"] = [33, 64]
        wrongSize.header[name] = entry
        try scratch.writeWeights(wrongSize)
        assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)

        // A negative dimension.
        entry["shape"] = [-32, -64]
        wrongSize.header[name] = entry
        try scratch.writeWeights(wrongSize)
        assertCorruptHeader(expectError(scratch.directory, naming: scratch.modelPath), path: scratch.modelPath)
    }

    // (h)
    func testNonexistentPath() {
        let path = "/nonexistent/scalellm-model-\(getpid())"
        XCTAssertEqual(expectError(path, naming: path), .fileNotFound(path: path))
    }

    func testDirectoryWithoutWeights() throws {
        let scratch = try ScratchCheckpoint(copyWeights: false)
        XCTAssertEqual(expectError(scratch.directory, naming: scratch.modelPath), .fileNotFound(path: scratch.modelPath))
    }

    // (i)
    func testDamagedGGUF() throws {
        let scratch = try ScratchCheckpoint(copyWeights: false)
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: SharedData.smolLMGGUF))
        let prefix = try XCTUnwrap(try handle.read(upToCount: 100 * 1024))
        try handle.close()
        let path = scratch.directory + "/model.gguf"

        try prefix.write(to: URL(fileURLWithPath: path))
        let truncated = expectError(path, naming: path)
        switch truncated {
        case .corruptHeader(let p, _)?, .truncatedTensor(let p, _)?: XCTAssertEqual(p, path)
        default: XCTFail("expected corruptHeader or truncatedTensor, got \(String(describing: truncated))")
        }

        var badMagic = prefix
        badMagic[3] = UInt8(ascii: "X")
        try badMagic.write(to: URL(fileURLWithPath: path))
        assertCorruptHeader(expectError(path, naming: path), path: path)

        var version9 = prefix
        version9.replaceSubrange(4..<8, with: [9, 0, 0, 0])
        try version9.write(to: URL(fileURLWithPath: path))
        assertCorruptHeader(expectError(path, naming: path), path: path)

        // An implausible tensor count.
        var hugeCount = prefix
        hugeCount.replaceSubrange(8..<16, with: [0, 0, 0, 0, 0, 0, 0, 0x7F])
        try hugeCount.write(to: URL(fileURLWithPath: path))
        assertCorruptHeader(expectError(path, naming: path), path: path)

        // Only the magic, and an empty file.
        try Data("GGUF".utf8).write(to: URL(fileURLWithPath: path))
        assertCorruptHeader(expectError(path, naming: path), path: path)
        try Data().write(to: URL(fileURLWithPath: path))
        assertCorruptHeader(expectError(path, naming: path), path: path)
    }

    // (j)
    func testShardedCheckpointLoadsLikeTheSingleFile() throws {
        let scratch = try ScratchCheckpoint(copyWeights: false)
        let whole = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        let names = whole.tensorNames
        let first = Array(names.prefix(names.count / 2)), second = Array(names.dropFirst(names.count / 2))
        let shardNames = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        try scratch.writeWeights(whole.subset(first), name: shardNames[0])
        try scratch.writeWeights(whole.subset(second), name: shardNames[1])
        var weightMap: [String: String] = [:]
        for n in first { weightMap[n] = shardNames[0] }
        for n in second { weightMap[n] = shardNames[1] }
        try scratch.writeJSON(["metadata": ["total_size": whole.data.count], "weight_map": weightMap], name: "model.safetensors.index.json")

        let sharded = try ModelCheckpoint(path: scratch.directory)
        let reference = try ModelCheckpoint(path: SharedData.storiesDirectory)
        XCTAssertEqual(sharded.config, reference.config)
        XCTAssertEqual(try sharded.float32(.tokenEmbedding), try reference.float32(.tokenEmbedding))
        for weight in [WeightName.finalNorm, .query(layer: 0), .up(layer: 4), .down(layer: 2)] {
            XCTAssertEqual(try sharded.float32(weight), try reference.float32(weight), "\(weight)")
        }
        XCTAssertTrue(try sharded.tensor(.tokenEmbedding).file.path.hasSuffix(shardNames[0]))
        XCTAssertTrue(try sharded.tensor(.finalNorm).file.path.hasSuffix(shardNames[1]))
    }

    func testShardIndexNamingAMissingShard() throws {
        let scratch = try ScratchCheckpoint(copyWeights: false)
        let whole = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        try scratch.writeWeights(whole, name: "model-00001-of-00002.safetensors")
        var weightMap: [String: String] = [:]
        for n in whole.tensorNames { weightMap[n] = "model-00001-of-00002.safetensors" }
        weightMap["model.norm.weight"] = "model-00002-of-00002.safetensors"   // not on disk
        try scratch.writeJSON(["weight_map": weightMap], name: "model.safetensors.index.json")
        let missing = scratch.directory + "/model-00002-of-00002.safetensors"
        XCTAssertEqual(expectError(scratch.directory, naming: missing), .fileNotFound(path: missing))
    }

    func testShardIndexWithTensorAbsentFromItsShard() throws {
        let scratch = try ScratchCheckpoint(copyWeights: false)
        let whole = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        let names = whole.tensorNames
        let dropped = "model.layers.1.mlp.gate_proj.weight"
        try scratch.writeWeights(whole.subset(names.filter { $0 != dropped }), name: "model-00001-of-00001.safetensors")
        var weightMap: [String: String] = [:]
        for n in names { weightMap[n] = "model-00001-of-00001.safetensors" }
        try scratch.writeJSON(["weight_map": weightMap], name: "model.safetensors.index.json")
        let shard = scratch.directory + "/model-00001-of-00001.safetensors"
        XCTAssertEqual(expectError(scratch.directory, naming: shard), .missingTensor(path: shard, tensor: dropped))

        // An index without a weight map is an invalid configuration naming the index.
        let index = scratch.directory + "/model.safetensors.index.json"
        try scratch.writeJSON(["metadata": [:] as [String: Any]], name: "model.safetensors.index.json")
        guard case .invalidConfig(let p, _)? = expectError(scratch.directory, naming: index) else { return XCTFail("expected invalidConfig") }
        XCTAssertEqual(p, index)
    }
}

/// Hostile values in an otherwise valid safetensors header: each must be an error naming the file, not a crash.
final class HostileSafetensorsHeaderTests: XCTestCase {
    private func open(_ scratch: ScratchCheckpoint, tensor: String, _ change: (inout [String: Any]) -> Void,
                      file: StaticString = #filePath, line: UInt = #line) throws -> ModelFormatError? {
        var parsed = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        var entry = parsed.entry(tensor)
        change(&entry)
        parsed.header[tensor] = entry
        try scratch.writeWeights(parsed)
        do {
            _ = try ModelCheckpoint(path: scratch.directory)
            XCTFail("opened without error", file: file, line: line)
            return nil
        } catch {
            XCTAssertTrue(error.description.contains(scratch.modelPath), error.description, file: file, line: line)
            return error
        }
    }

    func testOffsetsNearIntMax() throws {
        let scratch = try ScratchCheckpoint()
        let error = try open(scratch, tensor: "model.norm.weight") { $0["data_offsets"] = [Int.max - 1000, Int.max - 1000 + 256] }
        switch error {
        case .truncatedTensor(_, "model.norm.weight")?, .corruptHeader?: break
        default: XCTFail("\(String(describing: error))")
        }
    }

    func testOffsetsPastTheEnd() throws {
        let scratch = try ScratchCheckpoint()
        let error = try open(scratch, tensor: "model.norm.weight") { $0["data_offsets"] = [1_040_000, 1_040_256] }
        XCTAssertEqual(error, .truncatedTensor(path: scratch.modelPath, tensor: "model.norm.weight"))
    }

    func testOffsetsReversed() throws {
        let scratch = try ScratchCheckpoint()
        let error = try open(scratch, tensor: "model.norm.weight") { $0["data_offsets"] = [256, 0] }
        guard case .corruptHeader? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testShapeWhoseProductOverflows() throws {
        let scratch = try ScratchCheckpoint()
        let error = try open(scratch, tensor: "model.norm.weight") { $0["shape"] = [1 << 32, 1 << 32, 16] }
        guard case .corruptHeader? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testEntryThatIsNotAnObject() throws {
        let scratch = try ScratchCheckpoint()
        var parsed = try ScratchCheckpoint.Safetensors(ScratchCheckpoint.originalWeights())
        parsed.header["model.norm.weight"] = 5
        try scratch.writeWeights(parsed)
        XCTAssertThrowsError(try ModelCheckpoint(path: scratch.directory)) { error in
            guard case .corruptHeader(let path, _)? = error as? ModelFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, scratch.modelPath)
        }
    }

    func testFloatingPointNumbersWhereIntegersBelong() throws {
        let scratch = try ScratchCheckpoint()
        let error = try open(scratch, tensor: "model.norm.weight") { $0["data_offsets"] = [1e300, 2e300] }
        XCTAssertNotNil(error)
        let shapeError = try open(scratch, tensor: "model.norm.weight") { $0["shape"] = [1e30] }
        XCTAssertNotNil(shapeError)
    }
}
