#include "CGGUFQuants.h"

#include <string.h>

#include "half.h"

// Each quantised type unpacked into groups of 16 weights `scale * q + min` (q signed 8-bit). The arithmetic that
// forms `scale` and `min` is ggml's own (dequantize_row_* in ggml-quants.c), operation for operation, so that
// `scale * q + min` (or `scale * q` where min is 0) is bit for bit ggml's decoded value. Nothing here may be
// contracted into fused multiply-adds: ggml's reference rounds every product.
#pragma STDC FP_CONTRACT OFF

#define GROUP SCALELLM_UNPACK_GROUP

/// The signature of a block's unpacker: block bytes `b` in; its weights `q`, and per group of 16 `scale` and
/// `min`, `stride` floats apart, out. `f16c` (a constant once inlined) says whether halves convert by instruction;
/// `shifted` asks Q4_0, Q5_0 and Q3_K for their non-negative form (values without their offset, the offset times
/// the scale as a min), which the integer kernel multiplies faster.
#define UNPACK_BLOCK(NAME)                                                                                             \
    static inline __attribute__((always_inline)) void NAME(const uint8_t *restrict b, int8_t *restrict q,             \
                                                           float *restrict scale, float *restrict min,                \
                                                           size_t stride, int f16c, int shifted)

/// The half at `p` as a float: F16C's conversion where the caller is built for it, else integer arithmetic.
static inline __attribute__((always_inline)) float half(const void *p, int f16c) {
    if (!f16c) return half_to_float(p);
    _Float16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

/// The 16 values of IQ4_NL / IQ4_XS nibbles (ggml's kvalues_iq4nl).
static const int8_t iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// Sets the two groups of a 32-weight block to one scale and min.
static inline void block32_scales(float *scale, float *min, size_t stride, float s, float m) {
    scale[0] = scale[stride] = s;
    min[0] = min[stride] = m;
}

/// The (scale, min) 6-bit pair j of a Q4_K / Q5_K block's 12 packed bytes (ggml's get_scale_min_k4).
static inline void k4_scale_min(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

UNPACK_BLOCK(unpack_q4_0) {
    int offset = shifted ? 0 : 8;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((b[2 + j] & 0x0F) - offset);
        q[j + 16] = (int8_t)((b[2 + j] >> 4) - offset);
    }
    float d = half(b, f16c);
    block32_scales(scale, min, stride, d, shifted ? -(8 * d) : 0);
}

UNPACK_BLOCK(unpack_q4_1) {
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(b[4 + j] & 0x0F);
        q[j + 16] = (int8_t)(b[4 + j] >> 4);
    }
    block32_scales(scale, min, stride, half(b, f16c), half(b + 2, f16c));
}

/// Q5_0 and Q5_1: 32 high bits then 16 bytes of low nibbles, at `bits`; `offset` is 16 for Q5_0, 0 for Q5_1.
static inline void unpack_5bit(const uint8_t *restrict bits, int offset, int8_t *restrict q) {
    uint32_t qh;
    memcpy(&qh, bits, 4);
    for (int j = 0; j < 16; j++) {
        int high0 = ((qh >> j) << 4) & 0x10, high1 = (qh >> (j + 12)) & 0x10;
        q[j] = (int8_t)(((bits[4 + j] & 0x0F) | high0) - offset);
        q[j + 16] = (int8_t)(((bits[4 + j] >> 4) | high1) - offset);
    }
}

UNPACK_BLOCK(unpack_q5_0) {
    unpack_5bit(b + 2, shifted ? 0 : 16, q);
    float d = half(b, f16c);
    block32_scales(scale, min, stride, d, shifted ? -(16 * d) : 0);
}

UNPACK_BLOCK(unpack_q5_1) {
    unpack_5bit(b + 4, 0, q);
    block32_scales(scale, min, stride, half(b, f16c), half(b + 2, f16c));
}

UNPACK_BLOCK(unpack_q8_0) {
    memcpy(q, b + 2, 32);
    block32_scales(scale, min, stride, half(b, f16c), 0);
}

UNPACK_BLOCK(unpack_iq4_nl) {
    for (int j = 0; j < 16; j++) {
        q[j] = iq4nl_values[b[2 + j] & 0x0F];
        q[j + 16] = iq4nl_values[b[2 + j] >> 4];
    }
    block32_scales(scale, min, stride, half(b, f16c), 0);
}

UNPACK_BLOCK(unpack_q2_k) {
    const uint8_t *scales = b, *qs = b + 16;
    float d = half(b + 80, f16c), dmin = half(b + 82, f16c);
    int is = 0;
    for (int n = 0; n < 256; n += 128, qs += 32) {
        for (int shift = 0; shift < 8; shift += 2) {
            for (int half = 0; half < 2; half++, is++) {
                uint8_t sc = scales[is];
                scale[is * stride] = d * (sc & 0xF);
                min[is * stride] = -(dmin * (sc >> 4));
                for (int l = 0; l < 16; l++) q[is * 16 + l] = (int8_t)((qs[16 * half + l] >> shift) & 3);
            }
        }
    }
}

UNPACK_BLOCK(unpack_q3_k) {
    const uint8_t *hmask = b, *qs = b + 32;
    float d = half(b + 108, f16c);
    // The 16 6-bit scales: low nibbles in bytes 0-7, high 2-bit pairs in bytes 8-11 (ggml's kmask shuffle).
    uint32_t aux[4];
    memcpy(aux, b + 96, 12);
    uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4);
    aux[3] = ((aux[1] >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4);
    aux[0] = (aux[0] & 0x0f0f0f0f) | (((tmp >> 0) & 0x03030303) << 4);
    aux[1] = (aux[1] & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4);
    int8_t scales[16];
    memcpy(scales, aux, 16);
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < 256; n += 128, qs += 32) {
        for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
            for (int half = 0; half < 2; half++, is++) {
                float dl = d * (scales[is] - 32);
                scale[is * stride] = dl;
                min[is * stride] = shifted ? -(4 * dl) : 0;
                for (int l = 0; l < 16; l++) {
                    int i = 16 * half + l;
                    q[is * 16 + l] = (int8_t)(((qs[i] >> shift) & 3) + ((hmask[i] & m) ? 4 : 0) - (shifted ? 0 : 4));
                }
            }
        }
    }
}

/// Q4_K and Q5_K: 8 groups of 32 (`high` is NULL for Q4_K, the 32 bytes of fifth bits for Q5_K).
static inline __attribute__((always_inline)) void unpack_k_nibbles(const uint8_t *restrict b,
                                                                    const uint8_t *restrict high,
                                                                    const uint8_t *restrict ql, int8_t *restrict q,
                                                                    float *restrict scale, float *restrict min,
                                                                    size_t stride, int f16c) {
    float d = half(b, f16c), dmin = half(b + 2, f16c);
    const uint8_t *packed = b + 4;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32) {
        uint8_t sc, m;
        k4_scale_min(is, packed, &sc, &m);
        block32_scales(scale + 2 * is * stride, min + 2 * is * stride, stride, d * sc, -(dmin * m));
        k4_scale_min(is + 1, packed, &sc, &m);
        block32_scales(scale + (2 * is + 2) * stride, min + (2 * is + 2) * stride, stride, d * sc, -(dmin * m));
        uint8_t u1 = (uint8_t)(1 << is), u2 = (uint8_t)(2 << is);
        for (int l = 0; l < 32; l++) {
            q[j + l] = (int8_t)((ql[l] & 0xF) + (high && (high[l] & u1) ? 16 : 0));
            q[j + 32 + l] = (int8_t)((ql[l] >> 4) + (high && (high[l] & u2) ? 16 : 0));
        }
    }
}

UNPACK_BLOCK(unpack_q4_k) {
    unpack_k_nibbles(b, NULL, b + 16, q, scale, min, stride, f16c);
}

UNPACK_BLOCK(unpack_q5_k) {
    unpack_k_nibbles(b, b + 16, b + 48, q, scale, min, stride, f16c);
}

UNPACK_BLOCK(unpack_q6_k) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = half(b + 208, f16c);
    for (int g = 0; g < 16; g++) {
        scale[g * stride] = d * sc[g];
        min[g * stride] = 0;
    }
    for (int n = 0; n < 256; n += 128, ql += 64, qh += 32) {
        for (int l = 0; l < 32; l++) {
            q[n + l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            q[n + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            q[n + l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            q[n + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

UNPACK_BLOCK(unpack_iq4_xs) {
    float d = half(b, f16c);
    uint16_t scales_h = (uint16_t)(b[2] | (b[3] << 8));
    const uint8_t *scales_l = b + 4, *qs = b + 8;
    for (int ib = 0; ib < 8; ib++, qs += 16) {
        int ls = ((scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((scales_h >> 2 * ib) & 3) << 4);
        block32_scales(scale + 2 * ib * stride, min + 2 * ib * stride, stride, d * (ls - 32), 0);
        for (int j = 0; j < 16; j++) {
            q[32 * ib + j] = iq4nl_values[qs[j] & 0xf];
            q[32 * ib + j + 16] = iq4nl_values[qs[j] >> 4];
        }
    }
}

/// One row, type by type: one loop per type with the block's code inlined (a call per block of 32 would cost more
/// than the block).
static inline __attribute__((always_inline)) void unpack_row(int type, const void *row, size_t k, int8_t *q,
                                                             float *scale, float *min, size_t stride, int f16c,
                                                             int shifted) {
    size_t elements = scalellm_ggml_block_elements(type), bytes = scalellm_ggml_block_bytes(type);
    const uint8_t *block = row;
#define UNPACK(FUNCTION)                                                                                               \
    for (size_t i = 0; i < k; i += elements, block += bytes)                                                          \
        FUNCTION(block, q + i, scale + i / GROUP * stride, min + i / GROUP * stride, stride, f16c, shifted);          \
    return;
    switch (type) {
    case SCALELLM_GGML_Q4_0: UNPACK(unpack_q4_0)
    case SCALELLM_GGML_Q4_1: UNPACK(unpack_q4_1)
    case SCALELLM_GGML_Q5_0: UNPACK(unpack_q5_0)
    case SCALELLM_GGML_Q5_1: UNPACK(unpack_q5_1)
    case SCALELLM_GGML_Q8_0: UNPACK(unpack_q8_0)
    case SCALELLM_GGML_IQ4_NL: UNPACK(unpack_iq4_nl)
    case SCALELLM_GGML_Q2_K: UNPACK(unpack_q2_k)
    case SCALELLM_GGML_Q3_K: UNPACK(unpack_q3_k)
    case SCALELLM_GGML_Q4_K: UNPACK(unpack_q4_k)
    case SCALELLM_GGML_Q5_K: UNPACK(unpack_q5_k)
    case SCALELLM_GGML_Q6_K: UNPACK(unpack_q6_k)
    case SCALELLM_GGML_IQ4_XS: UNPACK(unpack_iq4_xs)
    default: return;
    }
#undef UNPACK
}

// Built twice: for AVX2 with F16C (32-byte byte loops, halves converted by instruction) and for every x86-64.
__attribute__((target("avx2,f16c"))) static void unpack_row_avx2(int type, const void *row, size_t k, int8_t *q,
                                                                  float *scale, float *min, size_t stride,
                                                                  int shifted) {
    unpack_row(type, row, k, q, scale, min, stride, 1, shifted);
}

static void unpack_row_baseline(int type, const void *row, size_t k, int8_t *q, float *scale, float *min,
                                size_t stride, int shifted) {
    unpack_row(type, row, k, q, scale, min, stride, 0, shifted);
}

void scalellm_ggml_unpack_row(int type, const void *row, size_t k, int8_t *q, float *scale, float *min,
                              size_t stride, int shifted) {
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c"))
        unpack_row_avx2(type, row, k, q, scale, min, stride, shifted);
    else
        unpack_row_baseline(type, row, k, q, scale, min, stride, shifted);
}
