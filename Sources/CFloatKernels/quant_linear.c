#include "CFloatKernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "CGGUFQuants.h"
#include "quant_row_dot.h"
#include "thread_scratch.h"

// Integer linear layers over quantised weights (see the header). Per tile of 8 weight rows the thread's scratch
// holds `codes` (k/4 steps × 8 rows × 4 bytes: the 4 consecutive weights of every row that one 32-bit lane of a
// vector meets), then per group of 16 weights the 8 rows' scales and mins. A step broadcasts 4 activation bytes
// of one row to all lanes and adds their products with each row's 4 weights into that row's lane.

#define TILE SCALELLM_QUANT_TILE_ROWS
#define GROUP SCALELLM_UNPACK_GROUP
/// Activation rows a tile meets at once: the AVX2 kernel keeps 2 vectors per row in registers (the integer sum of
/// the group and the float sum of the row).
#define ROW_BLOCK 6

void scalellm_q8_quantize_rows(const float *x, size_t m, size_t k, int8_t *q, float *x_scale, float *x_sum) {
    for (size_t r = 0; r < m; r++) {
        const float *xr = x + r * k;
        int8_t *qr = q + r * k;
        for (size_t b = 0; b < k; b += 32) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xr[b + j]));
            float d = amax / 127, id = d ? 1.0f / d : 0.0f;
            for (int half = 0; half < 2; half++) {
                int sum = 0;
                for (int j = 16 * half; j < 16 * half + 16; j++) {
                    qr[b + j] = (int8_t)roundf(xr[b + j] * id);
                    sum += qr[b + j];
                }
                size_t g = r * (k / GROUP) + b / GROUP + half;
                x_scale[g] = d;
                x_sum[g] = d * (float)sum;
            }
        }
    }
}

/// Whether a type's values, in their shifted form (`scalellm_ggml_unpack_row`), lie in 0…31: a tile of such
/// "small" rows takes the faster unsigned product (`tile_rows_avx2`).
static int is_small_type(int type) {
    switch (type) {
    case SCALELLM_GGML_Q4_0: case SCALELLM_GGML_Q4_1: case SCALELLM_GGML_Q5_0: case SCALELLM_GGML_Q5_1:
    case SCALELLM_GGML_Q2_K: case SCALELLM_GGML_Q3_K: case SCALELLM_GGML_Q4_K: case SCALELLM_GGML_Q5_K: return 1;
    default: return 0;
    }
}

/// Unpacks rows `first ..< first + 8` (rows past n repeat row n - 1; their outputs are dropped) one after the
/// other into `row_q` (8 × k bytes), and their scales and mins straight into the tile's (group by group, 8 rows
/// each). When every row's type is small, the rows are unpacked in their shifted form and the tile is reported
/// small (returns 1).
static int unpack_rows(const void *const *rows, const uint8_t *types, size_t n, size_t k, size_t first,
                       int8_t *row_q, float *scales, float *mins) {
    int small = 1;
    for (size_t t = 0; t < TILE; t++) small &= is_small_type(types[first + t < n ? first + t : n - 1]);
    for (size_t t = 0; t < TILE; t++) {
        size_t j = first + t < n ? first + t : n - 1;
        scalellm_ggml_unpack_row(types[j], rows[j], k, row_q + t * k, scales + t, mins + t, TILE, small);
    }
    return small;
}

/// Asks for the encoded rows of the tile starting at row `first` to be brought into the caches while the current
/// tile is computed: a batch-1 step would otherwise wait for memory at the start of every row, reading the
/// weights at half the bandwidth the machine has.
static void prefetch_tile(const void *const *rows, const uint8_t *types, size_t n, size_t k, size_t first) {
    for (size_t j = first; j < first + TILE && j < n; j++) {
        size_t bytes = k / scalellm_ggml_block_elements(types[j]) * scalellm_ggml_block_bytes(types[j]);
        for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch((const char *)rows[j] + offset, 0, 2);
    }
}

/// Interleaves 8 unpacked rows into the tile's codes: 4 weights of row 0, 4 of row 1, …, then the next 4 of each.
static void interleave_portable(const int8_t *row_q, size_t k, int8_t *codes) {
    for (size_t t = 0; t < TILE; t++)
        for (size_t i = 0; i < k / 4; i++) memcpy(codes + (i * TILE + t) * 4, row_q + t * k + 4 * i, 4);
}

/// The same interleaving as a transpose of 32-bit words in registers: 16 weights of each row in, 4 vectors out.
__attribute__((target("avx2"))) static void interleave_avx2(const int8_t *row_q, size_t k, int8_t *codes) {
#define ROWS(A, B)                                                                                                     \
    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row_q + (A) * k + i))),          \
                            _mm_loadu_si128((const __m128i *)(row_q + (B) * k + i)), 1)
    for (size_t i = 0; i < k; i += 16) {
        __m256i r04 = ROWS(0, 4), r15 = ROWS(1, 5), r26 = ROWS(2, 6), r37 = ROWS(3, 7);
        __m256i a = _mm256_unpacklo_epi32(r04, r15), b = _mm256_unpackhi_epi32(r04, r15);
        __m256i c = _mm256_unpacklo_epi32(r26, r37), d = _mm256_unpackhi_epi32(r26, r37);
        __m256i *out = (__m256i *)(codes + i * TILE);
        _mm256_store_si256(out, _mm256_unpacklo_epi64(a, c));
        _mm256_store_si256(out + 1, _mm256_unpackhi_epi64(a, c));
        _mm256_store_si256(out + 2, _mm256_unpacklo_epi64(b, d));
        _mm256_store_si256(out + 3, _mm256_unpackhi_epi64(b, d));
    }
#undef ROWS
}

/// Writes (or adds) the first `columns` of a tile's 8 sums to `out`.
static inline void store_sums(float *out, const float *sums, size_t columns, int accumulate) {
    for (size_t c = 0; c < columns; c++) out[c] = accumulate ? out[c] + sums[c] : sums[c];
}

/// Portable: the same arithmetic in scalar code.
static void tile_rows_portable(const int8_t *codes, const float *scales, const float *mins, size_t k,
                               const int8_t *xq, const float *x_scale, const float *x_sum, size_t rows, float *y,
                               size_t ldy, size_t columns, int accumulate) {
    size_t groups = k / GROUP;
    for (size_t r = 0; r < rows; r++) {
        float sums[TILE] = {0};
        for (size_t g = 0; g < groups; g++) {
            const int8_t *x = xq + r * k + g * GROUP;
            for (size_t t = 0; t < TILE; t++) {
                int32_t dot = 0;
                for (size_t step = 0; step < GROUP / 4; step++)
                    for (size_t i = 0; i < 4; i++) dot += codes[((g * 4 + step) * TILE + t) * 4 + i] * x[step * 4 + i];
                sums[t] += (float)dot * (scales[g * TILE + t] * x_scale[r * groups + g]) +
                           mins[g * TILE + t] * x_sum[r * groups + g];
            }
        }
        store_sums(y + r * ldy, sums, columns, accumulate);
    }
}

/// AVX2: `rows` (≤ 6, a constant in each instantiation) activation rows against one tile, with vpmaddubsw, which
/// multiplies unsigned by signed bytes and adds pairs into 16 bits. Signed weights go in as their magnitudes, the
/// activations taking the weights' signs (|w| ≤ 128 and |x| ≤ 127, so a pair's sum, at most 32 512, never
/// saturates); each step's pairs are widened to 32 bits at once. A `small` tile (weights in 0…31) goes in as it
/// is, and its 4 steps of a group add up in 16 bits before one widening (4 · 2 · 31 · 127 = 31 496 < 2¹⁵).
__attribute__((target("avx2,fma"), always_inline)) static inline void
tile_rows_avx2_block(const int8_t *codes, const float *scales, const float *mins, size_t k, const int8_t *xq,
                     const float *x_scale, const float *x_sum, size_t rows, float *y, size_t ldy, size_t columns,
                     int accumulate, int small) {
    size_t groups = k / GROUP;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[ROW_BLOCK];
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) acc[r] = _mm256_setzero_ps();
    for (size_t g = 0; g < groups; g++) {
        __m256i dot[ROW_BLOCK];
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) dot[r] = _mm256_setzero_si256();
#pragma clang loop unroll(full)
        for (size_t step = 0; step < GROUP / 4; step++) {
            __m256i w = _mm256_load_si256((const __m256i *)(codes + (g * 4 + step) * TILE * 4));
            __m256i magnitude = small ? w : _mm256_sign_epi8(w, w);
#pragma clang loop unroll(full)
            for (size_t r = 0; r < rows; r++) {
                int32_t x4;
                memcpy(&x4, xq + r * k + g * GROUP + step * 4, 4);
                __m256i x = _mm256_set1_epi32(x4);
                if (small) {
                    dot[r] = _mm256_add_epi16(dot[r], _mm256_maddubs_epi16(w, x));
                } else {
                    x = _mm256_sign_epi8(x, w);
                    dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, x), ones));
                }
            }
        }
        if (small) {
#pragma clang loop unroll(full)
            for (size_t r = 0; r < rows; r++) dot[r] = _mm256_madd_epi16(dot[r], ones);
        }
        __m256 scale = _mm256_load_ps(scales + g * TILE), min = _mm256_load_ps(mins + g * TILE);
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) {
            __m256 s = _mm256_mul_ps(scale, _mm256_set1_ps(x_scale[r * groups + g]));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), s, acc[r]);
            acc[r] = _mm256_fmadd_ps(min, _mm256_set1_ps(x_sum[r * groups + g]), acc[r]);
        }
    }
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) {
        float sums[TILE];
        _mm256_storeu_ps(sums, acc[r]);
        store_sums(y + r * ldy, sums, columns, accumulate);
    }
}

/// Every activation row against one tile, 6 rows at a time, then the rest (one instantiation per leftover row
/// count and per kind of tile, so that every accumulator lives in a register).
__attribute__((target("avx2,fma"), always_inline)) static inline void
tile_rows_avx2_kind(const int8_t *codes, const float *scales, const float *mins, size_t k, const int8_t *xq,
                    const float *x_scale, const float *x_sum, size_t m, float *y, size_t ldy, size_t columns,
                    int accumulate, int small) {
    size_t groups = k / GROUP, r = 0;
    for (; r + ROW_BLOCK <= m; r += ROW_BLOCK)
        tile_rows_avx2_block(codes, scales, mins, k, xq + r * k, x_scale + r * groups, x_sum + r * groups, ROW_BLOCK,
                             y + r * ldy, ldy, columns, accumulate, small);
    const int8_t *xr = xq + r * k;
    const float *sr = x_scale + r * groups, *ur = x_sum + r * groups;
    float *yr = y + r * ldy;
    switch (m - r) {
    case 1: tile_rows_avx2_block(codes, scales, mins, k, xr, sr, ur, 1, yr, ldy, columns, accumulate, small); break;
    case 2: tile_rows_avx2_block(codes, scales, mins, k, xr, sr, ur, 2, yr, ldy, columns, accumulate, small); break;
    case 3: tile_rows_avx2_block(codes, scales, mins, k, xr, sr, ur, 3, yr, ldy, columns, accumulate, small); break;
    case 4: tile_rows_avx2_block(codes, scales, mins, k, xr, sr, ur, 4, yr, ldy, columns, accumulate, small); break;
    case 5: tile_rows_avx2_block(codes, scales, mins, k, xr, sr, ur, 5, yr, ldy, columns, accumulate, small); break;
    default: break;
    }
}

__attribute__((target("avx2,fma"))) static void tile_rows_avx2(const int8_t *codes, const float *scales,
                                                                const float *mins, size_t k, const int8_t *xq,
                                                                const float *x_scale, const float *x_sum, size_t m,
                                                                float *y, size_t ldy, size_t columns, int accumulate,
                                                                int small) {
    if (small)
        tile_rows_avx2_kind(codes, scales, mins, k, xq, x_scale, x_sum, m, y, ldy, columns, accumulate, 1);
    else
        tile_rows_avx2_kind(codes, scales, mins, k, xq, x_scale, x_sum, m, y, ldy, columns, accumulate, 0);
}

void scalellm_quant_linear(const void *const *rows, const uint8_t *types, size_t n, size_t k, size_t first_tile,
                           size_t tile_count, const int8_t *xq, const float *x_scale, const float *x_sum, size_t m,
                           float *y, size_t ldy, int accumulate, int level) {
    size_t groups = k / GROUP;
    // The tile (codes, scales, mins), then the 8 rows' unpacked bytes.
    size_t tile_bytes = TILE * k + 2 * TILE * groups * sizeof(float);
    char *scratch = scalellm_thread_scratch(tile_bytes + TILE * k);
    if (!scratch) return;
    int8_t *codes = (int8_t *)scratch;
    float *scales = (float *)(scratch + TILE * k), *mins = scales + TILE * groups;
    int8_t *row_q = (int8_t *)(scratch + tile_bytes);
    for (size_t tile = first_tile; tile < first_tile + tile_count; tile++) {
        size_t first = tile * TILE, columns = n - first < TILE ? n - first : TILE;
        // At a few activation rows, unpacking and interleaving cost more than the product they serve: a tile whose
        // rows all have a row dot skips them (quant_row_dot.c).
        if (m <= SCALELLM_ROW_DOT_ROWS && level >= SCALELLM_LEVEL_AVX2) {
            int direct = 1;
            for (size_t j = first; j < first + columns; j++) direct &= scalellm_quant_has_row_dot(types[j]);
            if (direct) {
                for (size_t j = first; j < first + columns; j++)
                    scalellm_quant_row_dot_avx2(types[j], rows[j], k, xq, x_scale, x_sum, m, y + j, ldy, accumulate);
                continue;
            }
        }
        if (tile + 1 < first_tile + tile_count) prefetch_tile(rows, types, n, k, first + TILE);
        int small = unpack_rows(rows, types, n, k, first, row_q, scales, mins);
        if (level >= SCALELLM_LEVEL_AVX2) {
            interleave_avx2(row_q, k, codes);
            tile_rows_avx2(codes, scales, mins, k, xq, x_scale, x_sum, m, y + first, ldy, columns, accumulate, small);
        } else {
            interleave_portable(row_q, k, codes);
            tile_rows_portable(codes, scales, mins, k, xq, x_scale, x_sum, m, y + first, ldy, columns, accumulate);
        }
    }
}
