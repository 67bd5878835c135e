import CProcessGroupShim
import Synchronization

/// A 32-bit atomic in shared memory that ranks can sleep on (futex, shared variant), with a count of sleepers beside
/// it so that a publisher makes the wake-up system call only when someone actually sleeps.
///
/// The sleeper increments `sleepers` before `FUTEX_WAIT` re-checks the word in the kernel; the publisher stores the
/// word before reading `sleepers` (both sequentially consistent), so either the publisher sees the sleeper and wakes
/// it, or the kernel sees the new value and the sleeper does not sleep.
struct FutexWord {
    let value: UnsafeMutablePointer<Atomic<UInt32>>
    let sleepers: UnsafeMutablePointer<Atomic<UInt32>>

    /// The word at `offset` with its sleeper count in the next four bytes.
    init(_ payload: UnsafeMutableRawPointer, offset: Int) {
        value = (payload + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
        sleepers = (payload + offset + 4).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    @inline(__always)
    func load() -> UInt32 { value.pointee.load(ordering: .acquiring) }

    /// Stores `newValue` and wakes the sleepers, if any.
    @inline(__always)
    func store(_ newValue: UInt32) {
        value.pointee.store(newValue, ordering: .sequentiallyConsistent)
        wakeIfSleeping()
    }

    /// Subtracts one and wakes the sleepers if the result is zero; returns the result.
    @inline(__always)
    func decrement() -> UInt32 {
        let result = value.pointee.subtract(1, ordering: .sequentiallyConsistent).newValue
        if result == 0 { wakeIfSleeping() }
        return result
    }

    @inline(__always)
    func wakeIfSleeping() {
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 { wakeAll() }
    }

    /// Wakes every sleeper regardless of the count (used when a failure is recorded).
    func wakeAll() { _ = scalellm_futex_wake(UnsafeMutableRawPointer(value), Int32.max) }

    /// Sleeps while the word equals `expected`, at most `nanoseconds`. May return early (spurious wake-ups,
    /// signals); callers re-check.
    func sleep(whileEqualTo expected: UInt32, nanoseconds: Int64) {
        sleepers.pointee.add(1, ordering: .sequentiallyConsistent)
        _ = scalellm_futex_wait(UnsafeMutableRawPointer(value), expected, nanoseconds)
        sleepers.pointee.subtract(1, ordering: .sequentiallyConsistent)
    }
}
