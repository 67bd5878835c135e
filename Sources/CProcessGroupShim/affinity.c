#define _GNU_SOURCE
#include "CProcessGroupShim.h"

#include <errno.h>

#if defined(__linux__)
#include <sched.h>

int scalellm_allowed_cpus(int32_t *cpus, int32_t capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int32_t count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

int scalellm_pin_cpus(const int32_t *cpus, int32_t count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int32_t i = 0; i < count; i++) {
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}
#else
int scalellm_allowed_cpus(int32_t *cpus, int32_t capacity) { (void)cpus; (void)capacity; return -1; }
int scalellm_pin_cpus(const int32_t *cpus, int32_t count) { (void)cpus; (void)count; return ENOSYS; }
#endif
