#include "CFP8Kernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define SCALELLM_X86 1
#endif

// MARK: portable

static inline float portable_decode(uint8_t c) {
    uint32_t m = c & 0x7F;
    float v;
    if (m < 8) {
        v = (float)m * 0x1p-9f;
    } else {
        uint32_t bits = (m << 20) + (120u << 23);
        memcpy(&v, &bits, sizeof v);
    }
    return (c & 0x80) ? -v : v;
}

static void portable_dequantize(const uint8_t *codes, size_t count, float scale, float *out) {
    for (size_t i = 0; i < count; i++) out[i] = portable_decode(codes[i]) * scale;
}

static float portable_dot(const uint8_t *codes, const float *x, size_t count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        s0 += portable_decode(codes[i]) * x[i];
        s1 += portable_decode(codes[i + 1]) * x[i + 1];
        s2 += portable_decode(codes[i + 2]) * x[i + 2];
        s3 += portable_decode(codes[i + 3]) * x[i + 3];
    }
    for (; i < count; i++) s0 += portable_decode(codes[i]) * x[i];
    return (s0 + s1) + (s2 + s3);
}

/// Panel layout (see the header): out[i * 32 + r] = decode(codes[r * k + i]) * scales[r], zero for r >= rows.
static void portable_dequantize_panel(const uint8_t *codes, const float *scales, size_t rows, size_t k, float *out) {
    for (size_t i = 0; i < k; i++)
        for (size_t r = 0; r < SCALELLM_FP8_PANEL_ROWS; r++)
            out[i * SCALELLM_FP8_PANEL_ROWS + r] = r < rows ? portable_decode(codes[r * k + i]) * scales[r] : 0;
}

#ifdef SCALELLM_X86

// MARK: AVX2 + F16C + FMA (8 lanes)

#define AVX2_TARGET __attribute__((target("avx2,f16c,fma")))

/// 8 codes → their values times 2^-8.
AVX2_TARGET static inline __m256 avx2_decode8(const uint8_t *p) {
    __m128i b = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)p));
    // b << 8 puts the code in the high byte; an arithmetic shift right by 1 moves it to `s eeee mmm` at bits
    // 14..7 with the sign copied into bit 14, which the mask clears.
    __m128i half = _mm_and_si128(_mm_srai_epi16(_mm_slli_epi16(b, 8), 1), _mm_set1_epi16((short)0xBFFF));
    return _mm256_cvtph_ps(half);
}

AVX2_TARGET static inline float avx2_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_TARGET static void avx2_dequantize(const uint8_t *codes, size_t count, float scale, float *out) {
    __m256 s = _mm256_set1_ps(scale * 256.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(avx2_decode8(codes + i), s));
    for (; i < count; i++) out[i] = portable_decode(codes[i]) * scale;
}

AVX2_TARGET static float avx2_dot(const uint8_t *codes, const float *x, size_t count) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        a0 = _mm256_fmadd_ps(avx2_decode8(codes + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(avx2_decode8(codes + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    if (i + 8 <= count) {
        a0 = _mm256_fmadd_ps(avx2_decode8(codes + i), _mm256_loadu_ps(x + i), a0);
        i += 8;
    }
    float sum = avx2_sum(_mm256_add_ps(a0, a1)) * 256.0f;
    for (; i < count; i++) sum += portable_decode(codes[i]) * x[i];
    return sum;
}

/// Up to 4 activation rows against one weight row: each group of codes is decoded once.
AVX2_TARGET static inline __attribute__((always_inline)) void avx2_dot_rows4_body(const uint8_t *codes, size_t count, const float *x, size_t x_stride,
                                       size_t rows, float *sums) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    const float *x0 = x, *x1 = x + x_stride, *x2 = x + 2 * x_stride, *x3 = x + 3 * x_stride;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 w = avx2_decode8(codes + i);
        a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x0 + i), a0);
        if (rows > 1) a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x1 + i), a1);
        if (rows > 2) a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x2 + i), a2);
        if (rows > 3) a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x3 + i), a3);
    }
    __m256 acc[4] = {a0, a1, a2, a3};
    for (size_t r = 0; r < rows; r++) {
        float sum = avx2_sum(acc[r]) * 256.0f;
        for (size_t j = i; j < count; j++) sum += portable_decode(codes[j]) * x[r * x_stride + j];
        sums[r] = sum;
    }
}

/// `rows` is a constant in each case below, so the compiler drops the unused accumulators from the loop.
AVX2_TARGET static void avx2_dot_rows4(const uint8_t *codes, size_t count, const float *x, size_t x_stride,
                                       size_t rows, float *sums) {
    switch (rows) {
    case 1: avx2_dot_rows4_body(codes, count, x, x_stride, 1, sums); break;
    case 2: avx2_dot_rows4_body(codes, count, x, x_stride, 2, sums); break;
    case 3: avx2_dot_rows4_body(codes, count, x, x_stride, 3, sums); break;
    default: avx2_dot_rows4_body(codes, count, x, x_stride, 4, sums); break;
    }
}

// MARK: AVX-512 F + BW + VL (16 lanes)

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c,fma")))

AVX512_TARGET static inline __m512 avx512_decode16(const uint8_t *p) {
    __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p));
    __m256i half = _mm256_and_si256(_mm256_srai_epi16(_mm256_slli_epi16(b, 8), 1), _mm256_set1_epi16((short)0xBFFF));
    return _mm512_cvtph_ps(half);
}

AVX512_TARGET static void avx512_dequantize(const uint8_t *codes, size_t count, float scale, float *out) {
    __m512 s = _mm512_set1_ps(scale * 256.0f);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(out + i, _mm512_mul_ps(avx512_decode16(codes + i), s));
    for (; i < count; i++) out[i] = portable_decode(codes[i]) * scale;
}

AVX512_TARGET static float avx512_dot(const uint8_t *codes, const float *x, size_t count) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        a0 = _mm512_fmadd_ps(avx512_decode16(codes + i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(avx512_decode16(codes + i + 16), _mm512_loadu_ps(x + i + 16), a1);
    }
    if (i + 16 <= count) {
        a0 = _mm512_fmadd_ps(avx512_decode16(codes + i), _mm512_loadu_ps(x + i), a0);
        i += 16;
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * 256.0f;
    for (; i < count; i++) sum += portable_decode(codes[i]) * x[i];
    return sum;
}

AVX512_TARGET static inline __attribute__((always_inline)) void avx512_dot_rows4_body(const uint8_t *codes, size_t count, const float *x, size_t x_stride,
                                           size_t rows, float *sums) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const float *x0 = x, *x1 = x + x_stride, *x2 = x + 2 * x_stride, *x3 = x + 3 * x_stride;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 w = avx512_decode16(codes + i);
        a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x0 + i), a0);
        if (rows > 1) a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x1 + i), a1);
        if (rows > 2) a2 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x2 + i), a2);
        if (rows > 3) a3 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x3 + i), a3);
    }
    __m512 acc[4] = {a0, a1, a2, a3};
    for (size_t r = 0; r < rows; r++) {
        float sum = _mm512_reduce_add_ps(acc[r]) * 256.0f;
        for (size_t j = i; j < count; j++) sum += portable_decode(codes[j]) * x[r * x_stride + j];
        sums[r] = sum;
    }
}

AVX512_TARGET static void avx512_dot_rows4(const uint8_t *codes, size_t count, const float *x, size_t x_stride,
                                           size_t rows, float *sums) {
    switch (rows) {
    case 1: avx512_dot_rows4_body(codes, count, x, x_stride, 1, sums); break;
    case 2: avx512_dot_rows4_body(codes, count, x, x_stride, 2, sums); break;
    case 3: avx512_dot_rows4_body(codes, count, x, x_stride, 3, sums); break;
    default: avx512_dot_rows4_body(codes, count, x, x_stride, 4, sums); break;
    }
}

/// Transposes 16 rows of 16 floats in registers: at each level (b = 8, 4, 2, 1) the rows i and i + b (bit b of i
/// clear) swap their off-diagonal b × b blocks, one two-source permute per row (64 in all), with the index
/// vectors of `transpose_indices`.
AVX512_TARGET static inline __attribute__((always_inline)) void avx512_transpose16(__m512 v[16], const __m512i low[4],
                                                                                   const __m512i high[4]) {
#pragma clang loop unroll(full)
    for (int level = 0; level < 4; level++) {
        int b = 8 >> level;
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {
            if (i & b) continue;
            __m512 a = v[i], c = v[i + b];
            v[i] = _mm512_permutex2var_ps(a, low[level], c);
            v[i + b] = _mm512_permutex2var_ps(a, high[level], c);
        }
    }
}

/// The permute indices of `avx512_transpose16`, level by level: row i keeps its columns without bit b and takes
/// row i+b's (low); row i+b keeps its columns with bit b and takes row i's (high).
AVX512_TARGET static void transpose_indices(__m512i low[4], __m512i high[4]) {
    for (int level = 0; level < 4; level++) {
        int b = 8 >> level, l[16], h[16];
        for (int c = 0; c < 16; c++) {
            l[c] = (c & b) ? 16 + c - b : c;
            h[c] = (c & b) ? 16 + c : c + b;
        }
        low[level] = _mm512_loadu_si512(l);
        high[level] = _mm512_loadu_si512(h);
    }
}

/// Each 16 × 16 block of codes (16 rows, 16 columns) is decoded row by row, scaled, transposed in registers and
/// stored as 16 columns of the panel; columns past the last whole block go through the portable decode.
AVX512_TARGET static void avx512_dequantize_panel(const uint8_t *codes, const float *scales, size_t rows, size_t k,
                                                  float *out) {
    __m512i low[4], high[4];
    transpose_indices(low, high);
    size_t whole = k / 16 * 16;
    for (size_t group = 0; group < SCALELLM_FP8_PANEL_ROWS; group += 16) {
        size_t live = rows > group ? (rows - group < 16 ? rows - group : 16) : 0;
        for (size_t c = 0; c < whole; c += 16) {
            __m512 v[16];
            for (size_t r = 0; r < 16; r++)
                v[r] = r < live ? _mm512_mul_ps(avx512_decode16(codes + (group + r) * k + c),
                                                _mm512_set1_ps(scales[group + r] * 256.0f))
                                : _mm512_setzero_ps();
            avx512_transpose16(v, low, high);
            for (size_t j = 0; j < 16; j++) _mm512_storeu_ps(out + (c + j) * SCALELLM_FP8_PANEL_ROWS + group, v[j]);
        }
    }
    for (size_t i = whole; i < k; i++)
        for (size_t r = 0; r < SCALELLM_FP8_PANEL_ROWS; r++)
            out[i * SCALELLM_FP8_PANEL_ROWS + r] = r < rows ? portable_decode(codes[r * k + i]) * scales[r] : 0;
}

// MARK: detection

static int detect_isa(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return SCALELLM_FP8_ISA_PORTABLE;
    int osxsave = (c >> 27) & 1, f16c = (c >> 29) & 1, fma = (c >> 12) & 1;
    if (!osxsave) return SCALELLM_FP8_ISA_PORTABLE;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return SCALELLM_FP8_ISA_PORTABLE;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    int ymm = (xcr0_lo & 0x6) == 0x6, zmm = (xcr0_lo & 0xE6) == 0xE6;
    if (!(ymm && avx2 && f16c && fma)) return SCALELLM_FP8_ISA_PORTABLE;
    if (zmm && avx512f && avx512bw && avx512vl) return SCALELLM_FP8_ISA_AVX512;
    return SCALELLM_FP8_ISA_AVX2;
}

#else
static int detect_isa(void) { return SCALELLM_FP8_ISA_PORTABLE; }
#endif

int scalellm_fp8_isa(void) {
    // -1: not detected yet. Racing first calls compute the same value, so relaxed atomics suffice.
    static int cached = -1;
    int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = detect_isa();
        __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

static inline int resolve(int isa) {
    int best = scalellm_fp8_isa();
    return (isa < 0 || isa > best) ? best : isa;
}

// MARK: entry points

void scalellm_fp8_dequantize(const uint8_t *codes, size_t count, float scale, float *out, int isa) {
    switch (resolve(isa)) {
#ifdef SCALELLM_X86
    case SCALELLM_FP8_ISA_AVX512: avx512_dequantize(codes, count, scale, out); return;
    case SCALELLM_FP8_ISA_AVX2: avx2_dequantize(codes, count, scale, out); return;
#endif
    default: portable_dequantize(codes, count, scale, out); return;
    }
}

float scalellm_fp8_dot(const uint8_t *codes, const float *x, size_t count, int isa) {
    switch (resolve(isa)) {
#ifdef SCALELLM_X86
    case SCALELLM_FP8_ISA_AVX512: return avx512_dot(codes, x, count);
    case SCALELLM_FP8_ISA_AVX2: return avx2_dot(codes, x, count);
#endif
    default: return portable_dot(codes, x, count);
    }
}

void scalellm_fp8_dot_rows(const uint8_t *codes, size_t count, float scale, const float *x, size_t x_stride,
                           size_t rows, float *y, size_t y_stride, int accumulate, int isa) {
    int level = resolve(isa);
    if (rows == 1) {
        // One row: the two-accumulator dot (the decode step's case).
        float value = scalellm_fp8_dot(codes, x, count, level) * scale;
        *y = accumulate ? *y + value : value;
        return;
    }
    for (size_t first = 0; first < rows; first += 4) {
        size_t group = rows - first < 4 ? rows - first : 4;
        const float *xg = x + first * x_stride;
        float sums[4];
        switch (level) {
#ifdef SCALELLM_X86
        case SCALELLM_FP8_ISA_AVX512: avx512_dot_rows4(codes, count, xg, x_stride, group, sums); break;
        case SCALELLM_FP8_ISA_AVX2: avx2_dot_rows4(codes, count, xg, x_stride, group, sums); break;
#endif
        default:
            for (size_t r = 0; r < group; r++) sums[r] = portable_dot(codes, xg + r * x_stride, count);
        }
        for (size_t r = 0; r < group; r++) {
            float value = sums[r] * scale;
            float *out = y + (first + r) * y_stride;
            *out = accumulate ? *out + value : value;
        }
    }
}

void scalellm_fp8_linear(const uint8_t *codes, const float *scales, size_t n, size_t k, const float *x, size_t m,
                         float *y, size_t ldy, int accumulate, int isa) {
    int level = resolve(isa);
    for (size_t j = 0; j < n; j++) scalellm_fp8_dot_rows(codes + j * k, k, scales[j], x, k, m, y + j, ldy, accumulate, level);
}

void scalellm_fp8_dequantize_panel(const uint8_t *codes, const float *scales, size_t rows, size_t k, float *out,
                                   int isa) {
#ifdef SCALELLM_X86
    if (resolve(isa) == SCALELLM_FP8_ISA_AVX512) {
        avx512_dequantize_panel(codes, scales, rows, k, out);
        return;
    }
#endif
    portable_dequantize_panel(codes, scales, rows, k, out);
}
