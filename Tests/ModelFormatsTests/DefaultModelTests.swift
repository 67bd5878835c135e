import Foundation
import XCTest
import TestSupport
@testable import ModelFormats

/// `DefaultModel.locate`: the `SCALELLM_MODEL_CACHE` override, the lookup in `.cache/models/` of the checkout above
/// the executable, and the error naming every place it looked. Each test builds its own directory tree.
final class DefaultModelTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("scalellm-default-model-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Creates `relative` (and its parents) under the scratch directory; with `model`, puts an (empty) default
    /// model file into it.
    @discardableResult
    private func directory(_ relative: String, model: Bool = false) throws -> URL {
        let url = scratch.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        if model { XCTAssertTrue(FileManager.default.createFile(atPath: url.appendingPathComponent(DefaultModel.fileName).path, contents: nil)) }
        return url
    }

    func testEnvironmentVariableOverridesTheCheckout() throws {
        let executable = try directory("checkout/.build/debug")
        try directory("checkout/.cache/models", model: true)
        XCTAssertEqual(try DefaultModel.locate(environment: [DefaultModel.cacheVariable: SharedData.smolLMDirectory], executableDirectory: executable),
                       SharedData.smolLMGGUF)
    }

    func testEnvironmentVariableNamingADirectoryWithoutTheModelIsAnError() throws {
        let executable = try directory("checkout/.build/debug")
        try directory("checkout/.cache/models", model: true)   // not consulted once the variable is set
        let empty = try directory("empty")
        XCTAssertThrowsError(try DefaultModel.locate(environment: [DefaultModel.cacheVariable: empty.path], executableDirectory: executable)) { error in
            XCTAssertEqual(error as? ModelFormatError, .defaultModelNotFound(searched: [empty.appendingPathComponent(DefaultModel.fileName).path]))
        }
    }

    func testEmptyEnvironmentVariableIsIgnored() throws {
        let executable = try directory("checkout/.build/debug")
        let models = try directory("checkout/.cache/models", model: true)
        XCTAssertEqual(try DefaultModel.locate(environment: [DefaultModel.cacheVariable: ""], executableDirectory: executable),
                       models.appendingPathComponent(DefaultModel.fileName).path)
    }

    func testNearestCheckoutAboveTheExecutableWins() throws {
        try directory("outer/.cache/models", model: true)
        let inner = try directory("outer/inner/.cache/models", model: true)
        let executable = try directory("outer/inner/.build/x86_64-unknown-linux-gnu/release")
        XCTAssertEqual(try DefaultModel.locate(environment: [:], executableDirectory: executable),
                       inner.appendingPathComponent(DefaultModel.fileName).path)
        // The executable's own directory counts too.
        let beside = try directory("outer/inner/.build/tool")
        try directory("outer/inner/.build/tool/.cache/models", model: true)
        XCTAssertEqual(try DefaultModel.locate(environment: [:], executableDirectory: beside),
                       beside.appendingPathComponent(".cache/models/" + DefaultModel.fileName).path)
    }

    func testMissingModelNamesEveryPlaceSearchedAndHowToFixIt() throws {
        let executable = try directory("checkout/.build/debug")
        try directory("checkout/.cache/models")   // the cache exists, the file does not
        XCTAssertThrowsError(try DefaultModel.locate(environment: [:], executableDirectory: executable)) { error in
            guard case .defaultModelNotFound(let searched)? = error as? ModelFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(searched.first, executable.appendingPathComponent(".cache/models/" + DefaultModel.fileName).path)
            XCTAssertTrue(searched.contains(self.scratch.appendingPathComponent("checkout/.cache/models/" + DefaultModel.fileName).path), "\(searched)")
            XCTAssertEqual(searched.last, "/.cache/models/" + DefaultModel.fileName)
            let message = "\(error)"
            for hint in ["scripts/setup.sh", DefaultModel.cacheVariable, "--model", DefaultModel.fileName] {
                XCTAssertTrue(message.contains(hint), "'\(message)' does not mention \(hint)")
            }
        }
    }
}
