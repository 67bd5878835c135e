import Kernels

extension KVCacheDType {
    /// The element type `auto` picks beside weights held in `precision`: f32 for fp32 weights, so that the exact
    /// path stays exact; f16 for every other precision (half the memory and attention traffic of f32, at a
    /// rounding far below what quantised weights already change).
    public static func resolve(for precision: WeightPrecision) -> KVCacheDType {
        if case .fp32 = precision { return .f32 }
        return .f16
    }
}

/// `--kv-cache-dtype auto|f32|f16|bf16|fp8`: a KV element type, or `auto`, which follows the weight precision
/// (`KVCacheDType.resolve(for:)`) and is resolved where the model's precision is known.
public enum KVCacheDTypeChoice: Sendable, Hashable, RawRepresentable, CaseIterable, CustomStringConvertible {
    case auto
    case fixed(KVCacheDType)

    public init?(rawValue: String) {
        if rawValue == "auto" {
            self = .auto
        } else if let dtype = KVCacheDType(rawValue: rawValue) {
            self = .fixed(dtype)
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .auto: return "auto"
        case .fixed(let dtype): return dtype.rawValue
        }
    }

    public static var allCases: [KVCacheDTypeChoice] { [.auto] + KVCacheDType.allCases.map(Self.fixed) }

    public var description: String { rawValue }

    /// The element type of a KV cache beside weights held in `precision`.
    public func resolved(for precision: WeightPrecision) -> KVCacheDType {
        switch self {
        case .auto: return .resolve(for: precision)
        case .fixed(let dtype): return dtype
        }
    }
}
