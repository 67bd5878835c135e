import Foundation

/// OpenBLAS settings that must be in the environment when the process starts: the library reads them in a
/// constructor, before `main`. Every ScaleLLM executable calls `ensureSetOrReexec()` first thing, which sets the
/// missing ones and, if it set any, re-executes itself once. Values the user set are respected.
///
/// - `OPENBLAS_CORETYPE`: Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and silently falls back to
///   generic kernels that are 5–9× slower; the core type is picked from the CPU's features.
/// - `OPENBLAS_THREAD_TIMEOUT`: after a call, OpenBLAS's threads spin (yielding) for 2^28 cycles by default before
///   they sleep. Between the GEMMs of a large batch the engine runs attention on all cores, and spinning BLAS
///   threads steal those cores; 2^16 cycles (~20 µs) keeps them hot across a decode step's back-to-back GEMMs
///   and lets them sleep during attention (see docs/benchmarks.md).
public enum OpenBLASEnvironment {
    /// The spin time before OpenBLAS's idle threads sleep, as log2 of cycles.
    public static let threadTimeout = "16"

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
    public static func advice() -> String? {
        guard let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
              let best = detect(cpuFlags: cpuFlags()), set.caseInsensitiveCompare(best) != .orderedSame else { return nil }
        return "OPENBLAS_CORETYPE=\(set) is set in the environment; this CPU supports \(best) kernels, which can be much faster (unset it to let ScaleLLM choose)"
    }

    /// Sets the missing settings and re-executes the current program if it set any. Returns only if no re-exec
    /// was needed (or it failed).
    public static func ensureSetOrReexec() {
        let environment = ProcessInfo.processInfo.environment
        var missing: [(String, String)] = []
        if environment["OPENBLAS_CORETYPE"] == nil, let core = detect(cpuFlags: cpuFlags()) { missing.append(("OPENBLAS_CORETYPE", core)) }
        if environment["OPENBLAS_THREAD_TIMEOUT"] == nil { missing.append(("OPENBLAS_THREAD_TIMEOUT", threadTimeout)) }
        guard !missing.isEmpty else { return }
        for (name, value) in missing { setenv(name, value, 1) }
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // execv only returns on failure: carry on with the library's defaults rather than not at all.
        let settings = missing.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        FileHandle.standardError.write(Data("warning: could not re-execute with \(settings); BLAS may be slow\n".utf8))
    }
}
