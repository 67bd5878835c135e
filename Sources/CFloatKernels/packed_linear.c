#include "CFloatKernels.h"

#include "level_dispatch.h"
#include "simd16.h"
#include "thread_scratch.h"

// Linear layers over weights packed once at load (see the header): a step multiplies 32-row panels read front to
// back, so nothing is re-packed per call and the only pass over the weights is the product's own. fp32 panels
// hold floats; fp8 panels hold E4M3 codes in the same order, decoded inside the product (no float copy of the
// weights), with one scale per weight row applied to the sums.

#define PANEL SCALELLM_PANEL_ROWS

/// Activation rows multiplied per pass over a thread's panels: 192 rows of the widest input (1 536 floats) are
/// 1.2 MB and stay in a core's L2 cache while every panel meets them; a longer prefill chunk takes several passes.
#define ROW_CHUNK 192

/// The 32 weights of column i of a panel, as two vectors: floats, or decoded codes (times 2^-8; the caller
/// applies `256 · scale` to the sums).
SIMD16_INLINE void load_column(const float *panel, const uint8_t *codes, size_t i, v16f *w0, v16f *w1) {
    if (codes) {
        *w0 = decode16(codes + i * PANEL);
        *w1 = decode16(codes + i * PANEL + 16);
    } else {
        *w0 = load16(panel + i * PANEL);
        *w1 = load16(panel + i * PANEL + 16);
    }
}

size_t scalellm_f32_packed_size(size_t n, size_t k) { return (n + PANEL - 1) / PANEL * PANEL * k; }

void scalellm_f32_pack(const float *w, size_t n, size_t k, float *panels) {
    for (size_t p = 0; p < n; p += PANEL) {
        float *panel = panels + p * k;
        size_t rows = n - p < PANEL ? n - p : PANEL;
        for (size_t i = 0; i < k; i++)
            for (size_t r = 0; r < PANEL; r++) panel[i * PANEL + r] = r < rows ? w[(p + r) * k + i] : 0;
    }
}

void scalellm_f32_packed_row(const float *panels, size_t k, size_t row, float *out) {
    const float *panel = panels + row / PANEL * PANEL * k + row % PANEL;
    for (size_t i = 0; i < k; i++) out[i] = panel[i * PANEL];
}

/// `rows` activation rows (a constant in each instantiation, at most 12) × one panel (`panel` floats, or `codes`
/// with `scales`), in 2·rows accumulators of 16 outputs: each column's 32 weights are loaded once and multiplied by
/// every row's x[i] (a broadcast). Along the way it requests `prefetch_lines` cache lines from `prefetch` on into
/// L2, spread evenly over the columns.
SIMD16_INLINE void panel_rows(const float *panel, const uint8_t *codes, const float *scales, size_t k,
                              const float *x, size_t rows, float *y, size_t ldy, size_t columns, int accumulate,
                              const char *prefetch, size_t prefetch_lines) {
    size_t credit = 0;   // prefetch_lines per column, in units of 1/k line
    v16f lo[12], hi[12];
#pragma clang loop unroll(full)   // the loops over rows are unrolled (-O2 would not), so the accumulators are registers
    for (size_t r = 0; r < rows; r++) lo[r] = hi[r] = (v16f){0};
    for (size_t i = 0; i < k; i++) {
        v16f w0, w1;
        load_column(panel, codes, i, &w0, &w1);
        for (credit += prefetch_lines; credit >= k; credit -= k, prefetch += 64) __builtin_prefetch(prefetch, 0, 2);
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) {
            float v = x[r * k + i];
            lo[r] += w0 * v;
            hi[r] += w1 * v;
        }
    }
    if (codes) {
        v16f scale_lo = load16(scales) * 256.0f, scale_hi = load16(scales + 16) * 256.0f;
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) {
            lo[r] *= scale_lo;
            hi[r] *= scale_hi;
        }
    }
#pragma clang loop unroll(full)
    for (size_t r = 0; r < rows; r++) {
        float *out = y + r * ldy;
        if (columns == PANEL) {
            if (accumulate) {
                lo[r] += load16(out);
                hi[r] += load16(out + 16);
            }
            store16(out, lo[r]);
            store16(out + 16, hi[r]);
        } else {   // the last panel of a weight whose rows are not a multiple of 32
            float sums[PANEL];
            store16(sums, lo[r]);
            store16(sums + 16, hi[r]);
            for (size_t c = 0; c < columns; c++) out[c] = accumulate ? out[c] + sums[c] : sums[c];
        }
    }
}

/// One fp8 panel decoded into fp32 panel layout, column by column: both halves decoded and scaled (vector code in
/// an inlined helper, so that the dispatching functions never pass vectors between instruction sets).
SIMD16_INLINE void unpack_panel(const uint8_t *codes, const float *scales, size_t k, float *out) {
    v16f scale_lo = load16(scales) * 256.0f, scale_hi = load16(scales + 16) * 256.0f;
    for (size_t i = 0; i < k; i++) {
        store16(out + i * PANEL, decode16(codes + i * PANEL) * scale_lo);
        store16(out + i * PANEL + 16, decode16(codes + i * PANEL + 16) * scale_hi);
    }
}

/// One activation row against 4 whole fp32 panels at once (a batch-1 decode step, bound by memory): four streams
/// of weights keep more reads in flight than one, and 8 independent accumulators hide the FMA latency.
SIMD16_INLINE void four_panels_one_row(const float *panel, size_t k, const float *x, float *y, int accumulate) {
    v16f acc[8];
#pragma clang loop unroll(full)
    for (int j = 0; j < 8; j++) acc[j] = (v16f){0};
    for (size_t i = 0; i < k; i++) {
#pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
            const float *column = panel + j * PANEL * k + i * PANEL;
            acc[2 * j] += load16(column) * x[i];
            acc[2 * j + 1] += load16(column + 16) * x[i];
        }
    }
#pragma clang loop unroll(full)
    for (int j = 0; j < 8; j++) store16(y + 16 * j, accumulate ? acc[j] + load16(y + 16 * j) : acc[j]);
}

/// Panels `first_panel ..< first_panel + panel_count` of fp32 `panels` or fp8 `codes` (+ `scales`) times every
/// activation row, in blocks of `block` rows (as many as the instruction set's registers hold accumulators for),
/// the last block by its own size.
SIMD16_INLINE void panels_times_rows(const float *panels, const uint8_t *codes, const float *scales,
                                     size_t first_panel, size_t panel_count, size_t n, size_t k, const float *x,
                                     size_t m, float *y, size_t ldy, int accumulate, size_t block) {
    size_t panel_bytes = PANEL * k * (codes ? 1 : sizeof(float)), lines = panel_bytes / 64;
    for (size_t chunk = 0; chunk < m; chunk += ROW_CHUNK) {
        size_t chunk_end = m - chunk < ROW_CHUNK ? m : chunk + ROW_CHUNK;
        size_t p = first_panel, end = first_panel + panel_count;
        if (m == 1 && !codes)
            for (; p + 4 <= end && (p + 4) * PANEL <= n; p += 4)
                four_panels_one_row(panels + p * PANEL * k, k, x, y + p * PANEL, accumulate);
        for (; p < end; p++) {
            const float *panel = codes ? NULL : panels + p * PANEL * k;
            const uint8_t *panel_codes = codes ? codes + p * PANEL * k : NULL;
            const float *panel_scales = codes ? scales + p * PANEL : NULL;
            const char *next = (codes ? (const char *)panel_codes : (const char *)panel) + panel_bytes;
            size_t columns = n - p * PANEL < PANEL ? n - p * PANEL : PANEL;
            // Several blocks of rows would each decode an fp8 panel again: decode it once, then multiply floats
            // (once per 192 rows instead of once per 12).
            float *unpacked =
                codes && chunk_end - chunk > block ? scalellm_thread_scratch(PANEL * k * sizeof(float)) : NULL;
            if (unpacked) {
                unpack_panel(panel_codes, panel_scales, k, unpacked);
                panel = unpacked;
                panel_codes = NULL;
            }
            for (size_t first = chunk; first < chunk_end; first += block) {
                size_t rows = chunk_end - first < block ? chunk_end - first : block;
                const float *xr = x + first * k;
                // A panel's first block of rows would read it from memory at up to 10 bytes per cycle, faster than
                // one core's share of memory bandwidth; instead every block of rows fetches its share of the next
                // panel's cache lines into L2, so memory is read at an even pace throughout (an fp32 model pass
                // in 19 instead of 28 ms at 8 rows, 55-59 instead of 76 ms at 64).
                size_t blocks = (chunk_end - chunk + block - 1) / block, b = (first - chunk) / block;
                size_t from = lines * b / blocks, to = lines * (b + 1) / blocks;
                size_t prefetch_lines = p + 1 < end ? to - from : 0;
                float *yr = y + first * ldy + p * PANEL;
                // One instantiation per row count, so that every accumulator lives in a register.
                switch (rows) {
#define ROWS(R)                                                                                                        \
    case R:                                                                                                            \
        panel_rows(panel, panel_codes, panel_scales, k, xr, R, yr, ldy, columns, accumulate, next + from * 64,          \
                   prefetch_lines);                                                                                    \
        break;
                ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7) ROWS(8) ROWS(9) ROWS(10) ROWS(11)
                default:
                    panel_rows(panel, panel_codes, panel_scales, k, xr, 12, yr, ldy, columns, accumulate,
                               next + from * 64, prefetch_lines);
                    break;
#undef ROWS
                }
            }
        }
    }
}

// AVX-512 has 32 vector registers: 12 rows × 2 accumulators fit beside the two weight vectors. AVX2 splits each
// 16-float vector over two of its 16 registers, so it takes 3 rows; the baseline build (SSE, four per vector) 1.
// F16C (with every AVX-512 CPU and nearly every AVX2 one) converts the decoded halves.
#define INSTANTIATE(NAME, TARGET, BLOCK)                                                                               \
    TARGET static void NAME(const float *panels, const uint8_t *codes, const float *scales, size_t first_panel,       \
                            size_t panel_count, size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy,  \
                            int accumulate) {                                                                        \
        panels_times_rows(panels, codes, scales, first_panel, panel_count, n, k, x, m, y, ldy, accumulate, BLOCK);  \
    }
INSTANTIATE(packed_avx512, __attribute__((target("avx512f,f16c,fma"))), 12)
INSTANTIATE(packed_avx2, __attribute__((target("avx2,f16c,fma"))), 3)
INSTANTIATE(packed_baseline, , 1)
#undef INSTANTIATE

int scalellm_packed_level(void) {
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
        return SCALELLM_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
        return SCALELLM_LEVEL_AVX2;
    return SCALELLM_LEVEL_BASELINE;
}

static void packed_linear(const float *panels, const uint8_t *codes, const float *scales, size_t first_panel,
                          size_t panel_count, size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy,
                          int accumulate, int level) {
    CALL_AT_LEVEL(level, packed, panels, codes, scales, first_panel, panel_count, n, k, x, m, y, ldy, accumulate);
}

void scalellm_f32_packed_linear(const float *panels, size_t first_panel, size_t panel_count, size_t n, size_t k,
                                const float *x, size_t m, float *y, size_t ldy, int accumulate) {
    packed_linear(panels, NULL, NULL, first_panel, panel_count, n, k, x, m, y, ldy, accumulate, scalellm_packed_level());
}

void scalellm_fp8_packed_linear(const uint8_t *codes, const float *scales, size_t first_panel, size_t panel_count,
                                size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy, int accumulate,
                                int level) {
    packed_linear(NULL, codes, scales, first_panel, panel_count, n, k, x, m, y, ldy, accumulate, level);
}

__attribute__((target("avx512f,f16c"))) static void unpack_avx512(const uint8_t *c, const float *s, size_t k, float *o) {
    unpack_panel(c, s, k, o);
}
__attribute__((target("avx2,f16c"))) static void unpack_avx2(const uint8_t *c, const float *s, size_t k, float *o) {
    unpack_panel(c, s, k, o);
}
static void unpack_baseline(const uint8_t *c, const float *s, size_t k, float *o) { unpack_panel(c, s, k, o); }

void scalellm_fp8_unpack_panel(const uint8_t *codes, const float *scales, size_t k, float *out, int level) {
    CALL_AT_LEVEL(level, unpack, codes, scales, k, out);
}
