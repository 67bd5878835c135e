#ifndef SCALELLM_LEVEL_DISPATCH_H
#define SCALELLM_LEVEL_DISPATCH_H

#include "CFloatKernels.h"

/// Calls the build of a kernel for instruction-set `level`: `NAME_avx512`, `NAME_avx2` or `NAME_baseline` (the same
/// body compiled once per target), with the arguments that follow.
#define CALL_AT_LEVEL(level, NAME, ...)                                                                               \
    do {                                                                                                             \
        switch (level) {                                                                                             \
        case SCALELLM_LEVEL_AVX512: NAME##_avx512(__VA_ARGS__); break;                                               \
        case SCALELLM_LEVEL_AVX2: NAME##_avx2(__VA_ARGS__); break;                                                   \
        default: NAME##_baseline(__VA_ARGS__); break;                                                                \
        }                                                                                                            \
    } while (0)

#endif
