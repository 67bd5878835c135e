#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The benchmark's clock: CLOCK_MONOTONIC in nanoseconds (never jumps with wall-clock changes). Every timestamp
/// of a level is taken from it and stored as seconds since the level started.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed origin.
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Seconds from `origin` to `time` (both from `now()`).
    public static func seconds(from origin: UInt64, to time: UInt64) -> Double {
        time >= origin ? Double(time - origin) / 1e9 : -Double(origin - time) / 1e9
    }
}
