import CLibUV

/// Seconds on the monotonic clock both processes time things with (step timings, uptime, latencies, heartbeats,
/// stall detection): libuv's high-resolution clock, which never jumps with the wall clock.
public func monotonicSeconds() -> Double { Double(uv_hrtime()) / 1e9 }
