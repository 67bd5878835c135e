#ifndef SCALELLM_SIMD16_H
#define SCALELLM_SIMD16_H

#include <string.h>

// 16-float vectors (one AVX-512 register, two AVX2, four SSE) for the kernels of this target. The helpers take and
// return vectors, whose calling convention differs between instruction sets; they are always inlined into each
// `target_clones` clone, so no call crosses that boundary and the warning does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

#define SIMD16_INLINE static inline __attribute__((always_inline))

SIMD16_INLINE v16f load16(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

SIMD16_INLINE void store16(float *p, v16f v) { memcpy(p, &v, sizeof v); }

SIMD16_INLINE float sum16(v16f v) {
    float s = 0;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}

#endif
