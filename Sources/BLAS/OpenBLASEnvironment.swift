import Foundation
import Kernels

/// The OpenBLAS setting that must be in the environment when the process starts: the library reads it in a
/// constructor, before `main`. Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and silently falls back to
/// generic kernels that are 5–9× slower, so the commands that compute with OpenBLAS (`bench machine`,
/// `bench linear`) call `ensureSetOrReexec()` first thing, which picks `OPENBLAS_CORETYPE` from the CPU's features and, if it had to set it, re-executes itself once. A
/// value the user set is respected. (`OPENBLAS_THREAD_TIMEOUT` is left alone: shortening the BLAS threads' spin
/// to 2^16 cycles measured 6% slower fp32 decode for 1–3% elsewhere; see docs/benchmarks.md.)
public enum OpenBLASEnvironment {
    /// The OpenBLAS core type for this CPU: SkylakeX with AVX-512 (F, BW, DQ, VL), Haswell with AVX2 + FMA.
    public static func detect(cpuFlags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The flags line of /proc/cpuinfo.
    public static func cpuFlags() -> Set<String> {
        guard let text = ProcFile.read("/proc/cpuinfo"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// A warning when the environment names a core type other than the one this CPU supports best (the value
    /// is respected, but on the development machines a preset `Haswell` halves sgemm throughput).
    static func advice() -> String? {
        guard let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
              let best = detect(cpuFlags: cpuFlags()), set.caseInsensitiveCompare(best) != .orderedSame else { return nil }
        return "OPENBLAS_CORETYPE=\(set) is set in the environment; this CPU supports \(best) kernels, which can be much faster (unset it to let ScaleLLM choose)"
    }

    /// Sets `OPENBLAS_CORETYPE` and re-executes the current program when it is unset and this CPU needs it;
    /// warns when a preset value is not the best for this CPU. Returns only if no re-exec was needed (or it failed).
    public static func ensureSetOrReexec() {
        if let advice = advice() { FileHandle.standardError.write(Data("warning: \(advice)\n".utf8)) }
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let core = detect(cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // execv only returns on failure: carry on with the slow kernels rather than not at all.
        FileHandle.standardError.write(Data("warning: could not re-execute with OPENBLAS_CORETYPE=\(core); BLAS may be slow\n".utf8))
    }
}
