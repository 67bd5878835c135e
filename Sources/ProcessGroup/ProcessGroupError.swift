#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a process-group operation failed. Peer failures (`peerDied`, `timedOut`, `peerClosed`) are recorded in the
/// shared segment by the rank that notices them first, so every rank of the group fails with the same error instead
/// of waiting for its own timeout. After any error the group is unusable: close it.
public enum ProcessGroupError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The process of `rank` no longer exists (or is a zombie) while others wait for it.
    case peerDied(rank: Int)
    /// `rank` did not reach the synchronisation point before the deadline (it is alive but not answering).
    case timedOut(rank: Int)
    /// `rank` closed its end of the group while others still wait for it.
    case peerClosed(rank: Int)
    /// The segment exists and its creator, `ownerPID`, is still running: another group uses this name.
    case segmentInUse(name: String, ownerPID: Int32)
    /// Rank 0 did not create and initialise the segment before the deadline.
    case segmentNotFound(name: String)
    /// The segment is not one of ours, or was created with another layout version or configuration.
    case incompatibleSegment(name: String, reason: String)
    /// Another live process already joined the group as `rank`.
    case rankTaken(rank: Int, pid: Int32)
    /// A payload larger than the capacity fixed when the segment was created.
    case capacityExceeded(what: String, requested: Int, capacity: Int)
    /// Ranks passed different element counts to the same all-reduce.
    case countMismatch(rank: Int, count: Int, expected: Int)
    /// A caller error: bad rank, size, group name, or an operation this rank may not perform.
    case invalidArgument(String)
    /// The group (or segment) was already closed by this process.
    case closed
    /// A system call failed.
    case system(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .peerDied(let rank): return "process group: rank \(rank) died (its process no longer exists)"
        case .timedOut(let rank): return "process group: timed out waiting for rank \(rank) (alive but not answering)"
        case .peerClosed(let rank): return "process group: rank \(rank) left the group while others were waiting for it"
        case .segmentInUse(let name, let pid):
            return "shared memory segment \(name) is in use by running process \(pid) (another group with the same name?)"
        case .segmentNotFound(let name):
            return "shared memory segment \(name) was not created by rank 0 before the deadline"
        case .incompatibleSegment(let name, let reason): return "shared memory segment \(name) is incompatible: \(reason)"
        case .rankTaken(let rank, let pid): return "process group: rank \(rank) is already taken by process \(pid)"
        case .capacityExceeded(let what, let requested, let capacity):
            return "process group: \(what) of \(requested) exceeds the segment's capacity of \(capacity)"
        case .countMismatch(let rank, let count, let expected):
            return "process group: rank \(rank) all-reduces \(count) floats, this rank \(expected)"
        case .invalidArgument(let message): return "process group: \(message)"
        case .closed: return "process group: already closed"
        case .system(let call, let code): return "process group: \(call) failed: \(String(cString: strerror(code)))"
        }
    }

    /// A `.system` error carrying the current `errno`.
    static func system(_ call: String) -> ProcessGroupError { .system(call: call, errno: errno) }
}
