// The two things ProcessGroup needs that Swift cannot reach directly: the futex system call (glibc exports only
// the variadic `syscall`, which does not import into Swift) and the CPU's spin-wait hint.
#ifndef SCALELLM_PROCESS_GROUP_SHIM_H
#define SCALELLM_PROCESS_GROUP_SHIM_H

#include <stdint.h>

/// FUTEX_WAIT on a 32-bit word in shared memory (the shared variant, not FUTEX_PRIVATE_FLAG, so waiters and wakers
/// may be different processes mapping the same segment). Sleeps while `*word == expected`, at most `timeout_ns`.
/// Returns 0 when woken (possibly spuriously), otherwise the errno value: EAGAIN (the word already differed),
/// ETIMEDOUT or EINTR. Callers always re-check the word.
int scalellm_futex_wait(void *word, uint32_t expected, int64_t timeout_ns);

/// FUTEX_WAKE (shared variant): wakes up to `count` waiters sleeping on `word`. Returns how many were woken, or -errno.
int scalellm_futex_wake(void *word, int32_t count);

/// The CPUs the calling process may run on (sched_getaffinity), ascending, written to `cpus` (at most `capacity`).
/// Returns how many, or -1 (not Linux, or the call failed). (CPU_SET needs _GNU_SOURCE, so it lives here.)
int scalellm_allowed_cpus(int32_t *cpus, int32_t capacity);

/// Pins the calling process to the `count` CPUs in `cpus` (sched_setaffinity). Returns 0, or the errno value.
int scalellm_pin_cpus(const int32_t *cpus, int32_t count);

/// The spin-wait hint (`pause` on x86, `yield` on arm64); a no-op elsewhere.
static inline void scalellm_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
