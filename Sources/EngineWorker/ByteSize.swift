import Foundation
import Kernels

/// A memory size given on the command line: plain bytes (`536870912`), with a binary or decimal unit (`512MiB`,
/// `2GiB`, `500MB`), or a fraction of the memory currently available (`0.5`).
public struct ByteSize: Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    /// Parses `text`; nil when it is not a size.
    public init?(parsing text: String, availableMemory: () -> Int = ByteSize.availableMemory) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let fraction = Double(trimmed), trimmed.contains("."), fraction > 0, fraction <= 1 {
            bytes = Int(Double(availableMemory()) * fraction)
            return
        }
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1_000), ("MB", 1_000_000),
                                      ("GB", 1_000_000_000), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        var number = Substring(trimmed), multiplier = 1
        for (suffix, value) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            multiplier = value
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value > 0, value * Double(multiplier) < 1e15 else { return nil }
        bytes = Int(value * Double(multiplier))
    }

    public var description: String {
        bytes >= 1 << 30 ? String(format: "%.2f GiB", Double(bytes) / Double(1 << 30))
            : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    /// `MemAvailable` from /proc/meminfo (physical memory when unreadable).
    public static func availableMemory() -> Int {
        if let info = ProcFile.read("/proc/meminfo"),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kib = Int(line.split(separator: " ").dropFirst().first ?? "") {
            return kib * 1024
        }
        return Int(ProcessInfo.processInfo.physicalMemory)
    }
}
