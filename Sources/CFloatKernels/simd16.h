#ifndef SCALELLM_SIMD16_H
#define SCALELLM_SIMD16_H

#include <stdint.h>
#include <string.h>

// 16-float vectors (one AVX-512 register, two AVX2, four SSE) for the kernels of this target. The helpers take and
// return vectors, whose calling convention differs between instruction sets; they are always inlined into each
// per-instruction-set instantiation, so no call crosses that boundary and the warning does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
typedef uint8_t v16u8 __attribute__((vector_size(16)));
typedef uint32_t v16u32 __attribute__((vector_size(64)));
typedef uint16_t v16u16 __attribute__((vector_size(32)));
typedef int16_t v16s16 __attribute__((vector_size(32)));
typedef _Float16 v16h __attribute__((vector_size(32)));

#define SIMD16_INLINE static inline __attribute__((always_inline))

SIMD16_INLINE v16f load16(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

SIMD16_INLINE void store16(float *p, v16f v) { memcpy(p, &v, sizeof v); }

SIMD16_INLINE v16f splat(float v) { return (v16f){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v}; }

/// e^x in 16 lanes (Cephes' expf: x = n ln 2 + r, a degree-5 polynomial for e^r, 2^n built in the exponent bits);
/// within a few ulp of expf for x in [-87.3, 88], 0 below.
SIMD16_INLINE v16f exp16(v16f x) {
    v16i below = x < splat(-87.33654f);
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, splat(-87.33654f)), splat(88.0f));
    v16f shifted = x * 1.44269504f + 12582912.0f;   // adding 1.5 * 2^23 rounds to an integer in the low bits
    v16f n = shifted - 12582912.0f;
    v16f r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v16f p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    v16f e = p * (r * r) + r + 1.0f;
    v16i bits = ((v16i)shifted - 0x4B400000 + 127) << 23;
    return (v16f)((v16i)(e * (v16f)bits) & ~below);
}

/// 1 / (1 + e^-x) in 16 lanes: 0 for very negative x, 1 for large x, no cancellation in between.
SIMD16_INLINE v16f sigmoid16(v16f x) { return 1.0f / (1.0f + exp16(-x)); }

/// tanh in 16 lanes as 2·sigmoid(2x) − 1: within ~1e-7 absolute of tanhf, exactly ±1 in the tails.
SIMD16_INLINE v16f tanh16(v16f x) { return 2.0f * sigmoid16(2.0f * x) - 1.0f; }

/// 16 E4M3 codes → their values times 2^-8. The code `s eeee mmm` shifted into an IEEE half as `s 0eeee mmm0000000`
/// is exactly its value times 2^-8 (subnormals included), which the hardware converts to float (vcvtph2ps with
/// F16C; a library call in the baseline build). NaN codes (0x7F, 0xFF) are not handled specially: quantisation
/// never produces them from finite weights.
SIMD16_INLINE v16f decode16(const uint8_t *codes) {
    v16u8 bytes;
    memcpy(&bytes, codes, sizeof bytes);
    v16u16 high = __builtin_convertvector(bytes, v16u16) << 8;            // the code in the high byte
    v16s16 half = ((v16s16)high >> 1) & (int16_t)0xBFFF;                  // sign copied into bit 14, then cleared
    return __builtin_convertvector((v16h)half, v16f);
}

SIMD16_INLINE float sum16(v16f v) {
    float s = 0;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}

#endif
