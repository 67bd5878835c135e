#ifndef SCALELLM_KV_ELEMENTS_H
#define SCALELLM_KV_ELEMENTS_H

#include "CFloatKernels.h"
#include "simd16.h"

// Reading and writing the elements of the paged KV cache in each `SCALELLM_KV_*` type. The kernels take the type
// as a constant argument of always-inlined functions, so each instantiation of a kernel body keeps one branch of
// these switches: one body per kernel, one loader and one encoder per type.

/// Bytes of one element (fp8: of one code; the scales come on top).
SIMD16_INLINE size_t kv_element_bytes(int dtype) {
    return dtype == SCALELLM_KV_F32 ? 4 : dtype == SCALELLM_KV_FP8 ? 1 : 2;
}

/// Runs the statement `CALL(T)` with T the constant equal to `dtype`, so that an always-inlined kernel body that
/// CALL names is instantiated once per type with its loads and stores resolved.
#define WITH_KV_DTYPE(dtype, CALL)                                                                                     \
    switch (dtype) {                                                                                                   \
    case SCALELLM_KV_F16: CALL(SCALELLM_KV_F16); break;                                                                \
    case SCALELLM_KV_BF16: CALL(SCALELLM_KV_BF16); break;                                                              \
    case SCALELLM_KV_FP8: CALL(SCALELLM_KV_FP8); break;                                                                \
    default: CALL(SCALELLM_KV_F32); break;                                                                             \
    }

/// Element `i` of a pool (or block) of type `dtype` as a float; fp8 codes come out times 2^-8 (the token's scale
/// times 256 is applied by the caller).
SIMD16_INLINE float load_kv1(const void *pool, size_t i, int dtype) {
    switch (dtype) {
    case SCALELLM_KV_F16: {
        _Float16 h;
        memcpy(&h, (const char *)pool + 2 * i, 2);
        return (float)h;
    }
    case SCALELLM_KV_BF16: {
        uint16_t b;
        memcpy(&b, (const char *)pool + 2 * i, 2);
        uint32_t bits = (uint32_t)b << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    case SCALELLM_KV_FP8: {
        // As in decode16: the code shifted into a half is its value times 2^-8.
        uint8_t code = ((const uint8_t *)pool)[i];
        int16_t half = (int16_t)(((int16_t)(uint16_t)(code << 8) >> 1) & (int16_t)0xBFFF);
        _Float16 h;
        memcpy(&h, &half, 2);
        return (float)h;
    }
    default: return ((const float *)pool)[i];
    }
}

/// Elements `i ..< i + 16`, converted in hardware where the instantiation allows: F16C's vcvtph2ps for f16 (and
/// the fp8 halves), a 16-bit shift for bf16.
SIMD16_INLINE v16f load_kv16(const void *pool, size_t i, int dtype) {
    switch (dtype) {
    case SCALELLM_KV_F16: {
        v16h h;
        memcpy(&h, (const char *)pool + 2 * i, sizeof h);
        return __builtin_convertvector(h, v16f);
    }
    case SCALELLM_KV_BF16: {
        v16u16 b;
        memcpy(&b, (const char *)pool + 2 * i, sizeof b);
        return (v16f)(__builtin_convertvector(b, v16i) << 16);
    }
    case SCALELLM_KV_FP8: return decode16((const uint8_t *)pool + i);
    default: return load16((const float *)pool + i);
    }
}

/// 16 E4M3 codes of x (finite, |x| <= 448 after scaling), rounded to nearest even, saturating at ±448: the same
/// codes as `FP8E4M3.encode` in Kernels.
SIMD16_INLINE v16u8 e4m3_encode16(v16f x) {
    v16i bits = (v16i)x, magnitude = bits & 0x7FFFFFFF;
    v16i sign = (bits >> 24) & 0x80;
    v16f a = (v16f)magnitude;
    // Below 2^-6: the number of 2^-9 steps, rounded to even by adding and subtracting 1.5 * 2^23.
    v16i subnormal = __builtin_convertvector((a * 512.0f + 12582912.0f) - 12582912.0f, v16i);
    // Normal: the float's exponent and top 3 mantissa bits, rounded to even, rebiased from 127 to 7.
    v16i normal = ((magnitude + 0x7FFFF + ((magnitude >> 20) & 1)) >> 20) - (120 << 3);
    normal = __builtin_elementwise_min(normal, (v16i){0} + 0x7E);
    v16i small = a < splat(0x1p-6f);
    return __builtin_convertvector(((subnormal & small) | (normal & ~small)) | sign, v16u8);
}

/// Writes the 16 floats x as elements `i ..< i + 16` of type `dtype` (fp8: x already divided by its scale),
/// rounding to nearest even. f16 saturates at ±65504 instead of overflowing to infinity; bf16 keeps NaN a NaN.
SIMD16_INLINE void store_kv16(void *pool, size_t i, v16f x, int dtype) {
    switch (dtype) {
    case SCALELLM_KV_F16: {
        v16f clamped = __builtin_elementwise_min(__builtin_elementwise_max(x, splat(-65504.0f)), splat(65504.0f));
        v16h h = __builtin_convertvector(clamped, v16h);
        memcpy((char *)pool + 2 * i, &h, sizeof h);
        break;
    }
    case SCALELLM_KV_BF16: {
        v16u32 bits = (v16u32)x;
        v16u32 rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16;
        v16u32 nan = (v16u32)((bits & 0x7FFFFFFF) > 0x7F800000);
        v16u16 b = __builtin_convertvector((rounded & ~nan) | (((bits >> 16) | 0x40) & nan), v16u16);
        memcpy((char *)pool + 2 * i, &b, sizeof b);
        break;
    }
    case SCALELLM_KV_FP8: {
        v16u8 codes = e4m3_encode16(x);
        memcpy((uint8_t *)pool + i, &codes, sizeof codes);
        break;
    }
    default: store16((float *)pool + i, x);
    }
}

#endif
