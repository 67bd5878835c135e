import Foundation
import XCTest
import TestSupport

/// The real `scalellm generate` executable: a broken or missing model is a clean non-zero exit whose message names
/// the file, and a greedy run on stories260K prints the start of HuggingFace's golden continuation. The real
/// `scalellm-worker` refuses a KV-cache budget below one block the same way.
final class CLIErrorTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `scalellm` with `arguments`, output captured through files (no pipe can fill up), waiting at most 60 s.
    private func run(_ arguments: [String], in directory: String) throws -> Outcome {
        let process = Process()
        process.executableURL = ServerProcess.binaries.appendingPathComponent("scalellm")
        process.arguments = arguments
        let outURL = URL(fileURLWithPath: directory + "/stdout.txt"), errURL = URL(fileURLWithPath: directory + "/stderr.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: outURL.path, contents: nil))
        XCTAssertTrue(FileManager.default.createFile(atPath: errURL.path, contents: nil))
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + 60) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            XCTFail("scalellm \(arguments) did not exit within 60 s")
        }
        return Outcome(status: process.terminationStatus,
                       stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                       stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    private func makeScratchDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-cli-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func testTruncatedModelFailsNamingTheFile() throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let model = scratch + "/model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for name in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: SharedData.storiesDirectory + "/" + name, toPath: model + "/" + name)
        }
        let weights = try Data(contentsOf: URL(fileURLWithPath: SharedData.storiesDirectory + "/model.safetensors"))
        try weights.prefix(weights.count - 1000).write(to: URL(fileURLWithPath: model + "/model.safetensors"))

        let outcome = try run(["generate", "--model", model, "--prompt", "hi"], in: scratch)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.stderr.contains(model + "/model.safetensors"), outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("extends past the end of the file"), outcome.stderr)
        XCTAssertEqual(outcome.stdout, "")
    }

    func testNonexistentModelFails() throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outcome = try run(["generate", "--model", "/nonexistent", "--prompt", "hi"], in: scratch)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.stderr.contains("/nonexistent"), outcome.stderr)
        XCTAssertEqual(outcome.stdout, "")
    }

    func testWorkerRefusesKVCacheSmallerThanOneBlock() throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outcome = try CommandRun.run(["--model", SharedData.storiesDirectory, "--socket", scratch + "/w.sock", "--kv-cache-memory", "1KiB"],
                                         executable: "scalellm-worker")
        XCTAssertTrue(outcome.exitedInTime, "the worker served with less KV-cache memory than one block")
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.stderr.contains("--kv-cache-memory is 1024 bytes, less than one KV-cache block: a block of 16 tokens needs"),
                      outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/w.sock"), "refused before listening")
    }

    /// Weights and a KV pool beyond the memory available are refused at start with the sizes (the pool is allocated
    /// untouched, so the worker would otherwise be killed for memory once requests fill it).
    func testWorkerRefusesAKVPoolBeyondAvailableMemory() throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outcome = try CommandRun.run(["--model", SharedData.storiesDirectory, "--socket", scratch + "/w.sock",
                                          "--kv-cache-memory", "100000GiB"], executable: "scalellm-worker")
        XCTAssertTrue(outcome.exitedInTime)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.stderr.contains("and the KV cache (100000.00 GiB) need"), outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("of memory is available; lower --kv-cache-memory"), outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/w.sock"), "refused before listening")
    }

    func testGreedyGenerationPrintsGoldenPrefix() throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let golden = try SharedData.goldenCases("stories260K", "generation.json")
        let story = try XCTUnwrap(golden.first { $0["id"] as? String == "story_opening" })
        XCTAssertEqual(story["prompt"] as? String, "Once upon a time")
        let expected = try XCTUnwrap(story["expected_completion_text"] as? String)

        let outcome = try run(["generate", "--model", SharedData.storiesDirectory, "--prompt", "Once upon a time",
                               "--max-tokens", "8", "--temperature", "0"], in: scratch)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.hasSuffix("\n"))
        let printed = String(outcome.stdout.dropLast(outcome.stdout.hasSuffix("\n") ? 1 : 0))
        XCTAssertGreaterThan(printed.count, 10, "8 tokens should print some text: '\(printed)'")
        XCTAssertTrue(expected.hasPrefix(printed), "printed '\(printed)' is not a prefix of the golden '\(expected)'")
        XCTAssertTrue(outcome.stderr.contains("prompt:"), outcome.stderr)
    }
}
