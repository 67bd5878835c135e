#include "quant_row_dot.h"

#include <immintrin.h>
#include <string.h>

#include "CGGUFQuants.h"

// Fused row dots: a weight row meets a few activation rows block by block, each block decoded in registers into
// 32 bytes and multiplied at once with vpmaddubsw (unsigned × signed bytes, pairs added in 16 bits) and vpmaddwd
// (pairs weighted and added in 32 bits). Nothing is unpacked, interleaved or stored, which at a few activation rows
// (decode steps) costs more than the product (see quant_linear.c).
//
// Q4_0, Q5_0 and Q8_0 go in signed (Q4_0 and Q5_0 less their offset of 8 or 16), as magnitudes with the signs moved
// onto the activations. The rest go in unsigned, their offsets moved into a term on the activations' sums (`x_sum`,
// per 16): Q4_1 / Q5_1 and Q4_K / Q5_K's mins, and Q6_K as 0…63 with −32 d · scale per group of 16. A K-quant's 8
// sub-blocks of 32 each meet one activation block, whose own scale multiplies that sub-block's integer sum in float;
// the sub-blocks' integer scales weight the pairs in vpmaddwd, so that the sums stay exact (|lane| ≤ 4 · 63 · 127 ·
// 128 < 2²⁴, exact in float too).
//
// Each activation row is computed the same way however many rows meet the weight (one accumulator chain per row,
// whatever the row count): a sequence decoded alone or beside a few others gets the same bits, so that batching
// does not change its greedy tokens (Gemma3Tests' long prompt, alone and batched, hit a near-tie when a single row
// alternated two accumulators — which gained nothing measurable).

#define ROWS SCALELLM_ROW_DOT_ROWS
#define GROUP SCALELLM_UNPACK_GROUP
#define KERNEL __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

int scalellm_quant_has_row_dot(int type) {
    switch (type) {
    case SCALELLM_GGML_Q4_0: case SCALELLM_GGML_Q4_1: case SCALELLM_GGML_Q5_0: case SCALELLM_GGML_Q5_1:
    case SCALELLM_GGML_Q8_0: case SCALELLM_GGML_Q4_K: case SCALELLM_GGML_Q5_K: case SCALELLM_GGML_Q6_K: return 1;
    default: return 0;
    }
}

/// The half at `p` in every lane. Broadcast as bits first: a half converted alone is inserted into whatever register
/// the compiler picks, at times an accumulator, which then chains every block to the one before.
KERNEL __m256 half_broadcast(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16((short)bits));
}

/// The bits of every byte of `v` selected by `mask` once moved from bit `from` to bit `to` (constants). The shift is
/// a 16-bit one, so bits of one byte enter the other; callers move by at most the gap between the mask and the
/// byte's edge, so that none of those lands under the mask.
KERNEL __m256i move_bits(__m256i v, int from, int to, int mask) {
    __m256i moved = from < to ? _mm256_slli_epi16(v, to - from) : from > to ? _mm256_srli_epi16(v, from - to) : v;
    return _mm256_and_si256(moved, _mm256_set1_epi8((char)mask));
}

/// The 32 nibbles of the 16 bytes at `p` as bytes: low nibbles (weights 0–15), then high ones (16–31), the order of
/// ggml's 32-weight blocks.
KERNEL __m256i nibbles_32(const uint8_t *p) {
    __m128i packed = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1),
                            _mm256_set1_epi8(0x0F));
}

/// Q5_0 / Q5_1's fifth bits, the 32-bit word at `p` (bit i for weight i), as 0x10 in byte i where set: each byte
/// gets the word's byte holding its bit, then tests its own bit.
KERNEL __m256i fifth_bits_32(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                         _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                           0x0101010101010101, 0x0000000000000000));
    __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

/// Block `b` (32 activations) of each of `rows` activation rows times the 32 weights `w`, pairs weighted by the
/// 16-bit `pair_weights` (a per-16 scale, or ones): 8 lanes of exact sums, as floats. Signed weights go in as their
/// magnitudes, the activations taking their signs (|w| ≤ 128, |x| ≤ 127: a pair never saturates).
KERNEL void block_dots(__m256i w, int is_signed, __m256i pair_weights, const int8_t *xq, size_t k, size_t b,
                       size_t rows, __m256 *dots) {
    __m256i magnitude = is_signed ? _mm256_sign_epi8(w, w) : w;
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(xq + r * k + 32 * b));
        if (is_signed) x = _mm256_sign_epi8(x, w);
        dots[r] = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, x), pair_weights));
    }
}

/// Writes (or adds) each row's sum, its 8 lanes and `extra[r]`, to `y[r * ldy]`.
KERNEL void store_dots(const __m256 *acc, const float *extra, size_t rows, float *y, size_t ldy, int accumulate) {
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        float sum = _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s))) + extra[r];
        y[r * ldy] = accumulate ? y[r * ldy] + sum : sum;
    }
}

/// Whether a legacy type's weights go in signed (Q4_0 and Q5_0 with their offset of 8 or 16 taken off: cheaper than
/// a min term on every activation row) or unsigned with a min (Q4_1, Q5_1).
KERNEL int is_signed_32(int type) {
    return type == SCALELLM_GGML_Q4_0 || type == SCALELLM_GGML_Q5_0 || type == SCALELLM_GGML_Q8_0;
}

/// One 32-weight block of a legacy type in registers: its weights as bytes, its scale `d` and (Q4_1, Q5_1) its min,
/// both in every lane.
KERNEL __m256i decode_block_32(int type, const uint8_t *block, __m256 *d, __m256 *min) {
    *d = half_broadcast(block);
    switch (type) {
    case SCALELLM_GGML_Q4_0: return _mm256_sub_epi8(nibbles_32(block + 2), _mm256_set1_epi8(8));
    case SCALELLM_GGML_Q4_1: *min = half_broadcast(block + 2); return nibbles_32(block + 4);
    case SCALELLM_GGML_Q5_0:
        return _mm256_sub_epi8(_mm256_or_si256(nibbles_32(block + 6), fifth_bits_32(block + 2)), _mm256_set1_epi8(16));
    case SCALELLM_GGML_Q5_1:
        *min = half_broadcast(block + 2);
        return _mm256_or_si256(nibbles_32(block + 8), fifth_bits_32(block + 4));
    default: return _mm256_loadu_si256((const __m256i *)(block + 2)); // Q8_0
    }
}

/// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: per block of 32, `d · x_d · Σ q·xq (+ min · x_d · Σ xq)`, the mins summed apart
/// (every lane the same sum).
KERNEL void row_dot_32(int type, const uint8_t *row, size_t k, const int8_t *xq, const float *x_scale,
                       const float *x_sum, size_t rows, float *y, size_t ldy, int accumulate) {
    const __m256i ones = _mm256_set1_epi16(1);
    size_t groups = k / GROUP, bytes = scalellm_ggml_block_bytes(type);
    __m256 acc[ROWS], min_acc[ROWS];
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) acc[r] = min_acc[r] = _mm256_setzero_ps();
    for (size_t b = 0; b < k / 32; b++, row += bytes) {
        __m256 d, min = _mm256_setzero_ps();
        __m256i w = decode_block_32(type, row, &d, &min);
        __m256 dots[ROWS];
        block_dots(w, is_signed_32(type), ones, xq, k, b, rows, dots);
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) {
            const float *scale = x_scale + r * groups + 2 * b, *sum = x_sum + r * groups + 2 * b;
            acc[r] = _mm256_fmadd_ps(dots[r], _mm256_mul_ps(d, _mm256_set1_ps(scale[0])), acc[r]);
            if (!is_signed_32(type)) {
                __m256 block_sum = _mm256_add_ps(_mm256_set1_ps(sum[0]), _mm256_set1_ps(sum[1]));
                min_acc[r] = _mm256_fmadd_ps(min, block_sum, min_acc[r]);
            }
        }
    }
    float mins[ROWS];
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) mins[r] = _mm256_cvtss_f32(min_acc[r]);
    store_dots(acc, mins, rows, y, ldy, accumulate);
}

/// What a K-quant super-block's header says per group of 16 weights: its scale (signed bytes: Q6_K's own, the 6-bit
/// sub-block scales of Q4_K / Q5_K twice each), and the coefficient of the group's activation sum,
/// `sum_factor · sum_bytes` (Q4_K / Q5_K: −dmin times the sub-block's 6-bit min; Q6_K: −32 d times the scale, its
/// offset of 32 taken out of the product).
struct k_header {
    __m256 d, sum_factor;
    __m128i scales, sum_bytes;
};

/// Four 6-bit values of a Q4_K / Q5_K header (scales or mins 4–7): the low nibbles of `nibbles`' bytes, topped by
/// the high 2 bits of `tops`' bytes.
KERNEL uint32_t k_high_sixes(uint32_t nibbles, uint32_t tops) {
    return (nibbles & 0x0f0f0f0f) | (((tops >> 6) & 0x03030303) << 4);
}

KERNEL struct k_header decode_k_header(int type, const uint8_t *block) {
    struct k_header h;
    if (type == SCALELLM_GGML_Q6_K) {
        h.d = half_broadcast(block + 208);
        h.sum_factor = _mm256_mul_ps(h.d, _mm256_set1_ps(-32));
        h.scales = h.sum_bytes = _mm_loadu_si128((const __m128i *)(block + 192));
        return h;
    }
    // Q4_K / Q5_K: 8 6-bit scales and mins in 12 bytes (ggml's get_scale_min_k4): scales 0–3 and mins 0–3 in the low
    // 6 bits of bytes 0–3 and 4–7; scales and mins 4–7 in the nibbles of bytes 8–11, topped by the high 2 bits of
    // bytes 0–3 and 4–7.
    uint32_t packed[3];
    memcpy(packed, block + 4, 12);
    __m128i scales = _mm_setr_epi32((int)(packed[0] & 0x3f3f3f3f), (int)k_high_sixes(packed[2], packed[0]), 0, 0);
    __m128i mins = _mm_setr_epi32((int)(packed[1] & 0x3f3f3f3f), (int)k_high_sixes(packed[2] >> 4, packed[1]), 0, 0);
    h.d = half_broadcast(block);
    h.sum_factor = _mm256_sub_ps(_mm256_setzero_ps(), half_broadcast(block + 2));
    h.scales = _mm_unpacklo_epi8(scales, scales);
    h.sum_bytes = _mm_unpacklo_epi8(mins, mins);
    return h;
}

/// Sub-block `s` (0–7, a constant) of a K-quant super-block as 32 unsigned bytes.
KERNEL __m256i decode_k_sub_block(int type, const uint8_t *block, int s) {
    if (type == SCALELLM_GGML_Q6_K) {
        // Per half of 128: low nibbles of ql[0..31], of ql[32..63], then their high nibbles; qh's bit pairs 0–3 on top.
        int half = s / 4, t = s % 4;
        __m256i ql = _mm256_loadu_si256((const __m256i *)(block + 64 * half + 32 * (t & 1)));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * half));
        return _mm256_or_si256(move_bits(ql, 4 * (t / 2), 0, 0x0F), move_bits(qh, 2 * t, 4, 0x30));
    }
    // Q4_K / Q5_K: per 64 weights, the low then the high nibbles of 32 bytes; Q5_K's fifth bit s of qh on top.
    const uint8_t *nibbles = block + (type == SCALELLM_GGML_Q5_K ? 48 : 16) + 32 * (s / 2);
    __m256i w = move_bits(_mm256_loadu_si256((const __m256i *)nibbles), 4 * (s & 1), 0, 0x0F);
    if (type == SCALELLM_GGML_Q5_K)
        w = _mm256_or_si256(w, move_bits(_mm256_loadu_si256((const __m256i *)(block + 16)), s, 4, 0x10));
    return w;
}

/// The byte indices of 16-bit lane `lane` for vpshufb, in every 16-bit lane.
KERNEL __m128i word_lane(int lane) {
    return _mm_set1_epi16((short)((2 * lane + 1) << 8 | 2 * lane));
}

/// Q4_K, Q5_K, Q6_K: per super-block of 256, `d · Σ_s x_d(s) · Σ scale·q·xq + Σ_groups coefficient · x_sum`.
KERNEL void row_dot_256(int type, const uint8_t *row, size_t k, const int8_t *xq, const float *x_scale,
                        const float *x_sum, size_t rows, float *y, size_t ldy, int accumulate) {
    size_t groups = k / GROUP, bytes = scalellm_ggml_block_bytes(type);
    __m256 acc[ROWS];
    float none[ROWS] = {0};
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) acc[r] = _mm256_setzero_ps();
    for (size_t i = 0; i < k / 256; i++, row += bytes) {
        struct k_header h = decode_k_header(type, row);
        // The 16 group scales as 16-bit words, 8 in each vector, repeated in both lanes for vpshufb; the 16
        // coefficients of the groups' activation sums as floats.
        __m256i scales[2];
        __m256 coefficients[2];
#pragma clang loop unroll(full)
        for (int half = 0; half < 2; half++) {
            __m128i scale_bytes = half ? _mm_srli_si128(h.scales, 8) : h.scales;
            __m128i sum_bytes = half ? _mm_srli_si128(h.sum_bytes, 8) : h.sum_bytes;
            scales[half] = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(scale_bytes));
            coefficients[half] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sum_bytes)), h.sum_factor);
        }
        __m256 block_acc[ROWS];
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) block_acc[r] = _mm256_setzero_ps();
#pragma clang loop unroll(full)
        for (int s = 0; s < 8; s++) {
            // Sub-block s is groups 2s and 2s + 1: the first's scale weights the low 16 bytes, the second's the high.
            __m256i pair_weights = _mm256_shuffle_epi8(scales[s / 4], _mm256_setr_m128i(word_lane(2 * (s % 4)),
                                                                                         word_lane(2 * (s % 4) + 1)));
            __m256 dots[ROWS];
            block_dots(decode_k_sub_block(type, row, s), 0, pair_weights, xq, k, 8 * i + s, rows, dots);
#pragma clang loop unroll(full)
            for (size_t r = 0; r < rows; r++) {
                __m256 x_d = _mm256_set1_ps(x_scale[r * groups + 16 * i + 2 * s]);
                block_acc[r] = _mm256_fmadd_ps(dots[r], x_d, block_acc[r]);
            }
        }
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) {
            const float *sums = x_sum + r * groups + 16 * i;
            acc[r] = _mm256_fmadd_ps(block_acc[r], h.d, acc[r]);
            acc[r] = _mm256_fmadd_ps(coefficients[0], _mm256_loadu_ps(sums), acc[r]);
            acc[r] = _mm256_fmadd_ps(coefficients[1], _mm256_loadu_ps(sums + 8), acc[r]);
        }
    }
    store_dots(acc, none, rows, y, ldy, accumulate);
}

/// One instantiation per type and activation row count, so that every type test folds away and every accumulator
/// lives in a register.
#define ROW_DOT_CASE(TYPE, LOOP, ROWS_)                                                                                \
    case TYPE: LOOP(TYPE, row, k, xq, x_scale, x_sum, ROWS_, y, ldy, accumulate); break;
#define ROW_DOT(ROWS_)                                                                                                 \
    switch (type) {                                                                                                    \
        ROW_DOT_CASE(SCALELLM_GGML_Q4_0, row_dot_32, ROWS_)                                                            \
        ROW_DOT_CASE(SCALELLM_GGML_Q4_1, row_dot_32, ROWS_)                                                            \
        ROW_DOT_CASE(SCALELLM_GGML_Q5_0, row_dot_32, ROWS_)                                                            \
        ROW_DOT_CASE(SCALELLM_GGML_Q5_1, row_dot_32, ROWS_)                                                            \
        ROW_DOT_CASE(SCALELLM_GGML_Q8_0, row_dot_32, ROWS_)                                                            \
        ROW_DOT_CASE(SCALELLM_GGML_Q4_K, row_dot_256, ROWS_)                                                           \
        ROW_DOT_CASE(SCALELLM_GGML_Q5_K, row_dot_256, ROWS_)                                                           \
        ROW_DOT_CASE(SCALELLM_GGML_Q6_K, row_dot_256, ROWS_)                                                           \
    default: break;                                                                                                    \
    }

__attribute__((target("avx2,fma,f16c"))) void scalellm_quant_row_dot_avx2(int type, const uint8_t *row, size_t k,
                                                                            const int8_t *xq, const float *x_scale,
                                                                            const float *x_sum, size_t m, float *y,
                                                                            size_t ldy, int accumulate) {
    _Static_assert(ROWS == 4, "one case per row count below");
    switch (m) {
    case 1: ROW_DOT(1) break;
    case 2: ROW_DOT(2) break;
    case 3: ROW_DOT(3) break;
    case 4: ROW_DOT(4) break;
    default: break;
    }
}
