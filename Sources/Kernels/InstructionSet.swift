import CFloatKernels

/// Which vector instructions the C kernels use (`SCALELLM_LEVEL_*`): picked at run time from CPUID, since Swift and
/// the kernels' callers are built for the baseline x86-64; a lower level can be asked for (tests run every level
/// the machine has). One scale for every kernel — the packed fp32/fp8 linear layers, paged attention over each KV
/// element type, and the integer linear layer over GGUF blocks (which has no AVX-512 variant and runs its AVX2 code
/// there).
public enum InstructionSet: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this CPU and OS support.
    public static let best = InstructionSet(rawValue: scalellm_packed_level()) ?? .portable

    /// Levels this machine can run, lowest first.
    public static var available: [InstructionSet] { allCases.filter { $0.rawValue <= best.rawValue } }

    public var description: String {
        switch self {
        case .portable: return "baseline x86-64"
        case .avx2: return "AVX2+F16C"
        case .avx512: return "AVX-512"
        }
    }
}
