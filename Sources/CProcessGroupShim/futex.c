#include "CProcessGroupShim.h"

#include <errno.h>
#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

int scalellm_futex_wait(void *word, uint32_t expected, int64_t timeout_ns) {
    if (timeout_ns < 0) timeout_ns = 0;
    struct timespec timeout = { .tv_sec = (time_t)(timeout_ns / 1000000000), .tv_nsec = (long)(timeout_ns % 1000000000) };
    long result = syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0);
    return result == 0 ? 0 : errno;
}

int scalellm_futex_wake(void *word, int32_t count) {
    long result = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
    return result >= 0 ? (int)result : -errno;
}

#else
// No futex: sleep briefly and let the caller poll (keeps the package compiling on other systems).
int scalellm_futex_wait(void *word, uint32_t expected, int64_t timeout_ns) {
    if (*(volatile uint32_t *)word != expected) return EAGAIN;
    int64_t slice = timeout_ns < 50000 ? timeout_ns : 50000;
    if (slice < 0) slice = 0;
    struct timespec pause = { .tv_sec = 0, .tv_nsec = (long)slice };
    nanosleep(&pause, NULL);
    return ETIMEDOUT;
}

int scalellm_futex_wake(void *word, int32_t count) {
    (void)word;
    (void)count;
    return 0;
}
#endif
