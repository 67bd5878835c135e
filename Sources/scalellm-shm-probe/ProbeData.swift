#if canImport(Glibc)
import Glibc
#endif

/// The deterministic data peers exchange: integer-valued floats (sums stay exact) and plans of varying length.
/// ProcessGroupTests computes the same values.
enum ProbeData {
    static func value(rank: Int, iteration: Int, index: Int) -> Float {
        Float((index &* 31 &+ iteration &* 17 &+ rank &* 101) % 199) - 99
    }

    static func plan(_ number: Int) -> [UInt8] {
        (0..<(number * 37 % 300)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ number) }
    }
}

/// `print(…, to:)` target for a file descriptor.
struct FileOutput: TextOutputStream {
    let fd: Int32
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
