#include "CFloatKernels.h"

#include "simd16.h"

// Float32 linear layers over weights packed once at load (see the header): a step multiplies 32-row panels read
// front to back, so nothing is re-packed per call and the only pass over the weights is the product's own.

#define PANEL SCALELLM_F32_PANEL_ROWS

/// Activation rows multiplied per pass over a thread's panels: 192 rows of the widest input (1 536 floats) are
/// 1.2 MB and stay in a core's L2 cache while every panel meets them; a longer prefill chunk takes several passes.
#define ROW_CHUNK 192

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

/// `rows` activation rows (a constant in each instantiation, at most 12) × one panel, in 2·rows accumulators of 16
/// outputs: each column's 32 weights are loaded once and multiplied by every row's x[i] (a broadcast). Along the
/// way it requests `prefetch_lines` cache lines from `prefetch` on into L2, spread evenly over the columns.
SIMD16_INLINE void panel_rows(const float *panel, size_t k, const float *x, size_t rows, float *y, size_t ldy,
                              size_t columns, int accumulate, const float *prefetch, size_t prefetch_lines) {
    size_t credit = 0;   // prefetch_lines per column, in units of 1/k line
    v16f lo[12], hi[12];
#pragma clang loop unroll(full)   // the loops over rows are unrolled (-O2 would not), so the accumulators are registers
    for (size_t r = 0; r < rows; r++) lo[r] = hi[r] = (v16f){0};
    for (size_t i = 0; i < k; i++) {
        v16f w0 = load16(panel + i * PANEL), w1 = load16(panel + i * PANEL + 16);
        if (prefetch_lines == 2 * k) {   // the whole panel: its column i
            __builtin_prefetch(prefetch + i * PANEL, 0, 2);
            __builtin_prefetch(prefetch + i * PANEL + 16, 0, 2);
        } else if ((credit += prefetch_lines) >= k) {
            credit -= k;
            __builtin_prefetch(prefetch, 0, 2);
            prefetch += 16;
        }
#pragma clang loop unroll(full)
        for (size_t r = 0; r < rows; r++) {
            float v = x[r * k + i];
            lo[r] += w0 * v;
            hi[r] += w1 * v;
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

/// One activation row against 4 whole panels at once (a batch-1 decode step, bound by memory): four streams of
/// weights keep more reads in flight than one, and 8 independent accumulators hide the FMA latency.
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

/// Activation rows in blocks of `block` (as many as the instruction set's registers hold accumulators for), the
/// last block by its own size.
SIMD16_INLINE void panels_times_rows(const float *panels, size_t first_panel, size_t panel_count, size_t n, size_t k,
                                     const float *x, size_t m, float *y, size_t ldy, int accumulate, size_t block) {
    for (size_t chunk = 0; chunk < m; chunk += ROW_CHUNK) {
        size_t chunk_end = m - chunk < ROW_CHUNK ? m : chunk + ROW_CHUNK;
        size_t p = first_panel, end = first_panel + panel_count;
        if (m == 1)
            for (; p + 4 <= end && (p + 4) * PANEL <= n; p += 4)
                four_panels_one_row(panels + p * PANEL * k, k, x, y + p * PANEL, accumulate);
        for (; p < end; p++) {
            const float *panel = panels + p * PANEL * k;
            size_t columns = n - p * PANEL < PANEL ? n - p * PANEL : PANEL;
            for (size_t first = chunk; first < chunk_end; first += block) {
                size_t rows = chunk_end - first < block ? chunk_end - first : block;
                const float *xr = x + first * k;
                // A panel's first block of rows would read it from memory at up to 10 bytes per cycle, faster than
                // one core's share of memory bandwidth; instead every block of rows fetches its share of the next
                // panel's 2k cache lines into L2, so memory is read at an even pace throughout (a whole-model pass
                // in 19 instead of 28 ms at 8 rows, 55-59 instead of 76 ms at 64).
                size_t blocks = (chunk_end - chunk + block - 1) / block, b = (first - chunk) / block;
                size_t from = 2 * k * b / blocks, to = 2 * k * (b + 1) / blocks;
                const float *prefetch = panel + PANEL * k + from * 16;
                size_t prefetch_lines = p + 1 < end ? to - from : 0;
                float *yr = y + first * ldy + p * PANEL;
                // One instantiation per row count, so that every accumulator lives in a register.
                switch (rows) {
#define ROWS(R) case R: panel_rows(panel, k, xr, R, yr, ldy, columns, accumulate, prefetch, prefetch_lines); break;
                ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7) ROWS(8) ROWS(9) ROWS(10) ROWS(11)
                default: panel_rows(panel, k, xr, 12, yr, ldy, columns, accumulate, prefetch, prefetch_lines); break;
#undef ROWS
                }
            }
        }
    }
}

// AVX-512 has 32 vector registers: 12 rows × 2 accumulators fit beside the two weight vectors. AVX2 splits each
// 16-float vector over two of its 16 registers, so it takes 3 rows; the baseline build (SSE, four per vector) 1.
__attribute__((target("avx512f"))) static void packed_avx512(const float *panels, size_t first_panel,
                                                             size_t panel_count, size_t n, size_t k, const float *x,
                                                             size_t m, float *y, size_t ldy, int accumulate) {
    panels_times_rows(panels, first_panel, panel_count, n, k, x, m, y, ldy, accumulate, 12);
}

__attribute__((target("avx2,fma"))) static void packed_avx2(const float *panels, size_t first_panel,
                                                            size_t panel_count, size_t n, size_t k, const float *x,
                                                            size_t m, float *y, size_t ldy, int accumulate) {
    panels_times_rows(panels, first_panel, panel_count, n, k, x, m, y, ldy, accumulate, 3);
}

static void packed_baseline(const float *panels, size_t first_panel, size_t panel_count, size_t n, size_t k,
                            const float *x, size_t m, float *y, size_t ldy, int accumulate) {
    panels_times_rows(panels, first_panel, panel_count, n, k, x, m, y, ldy, accumulate, 1);
}

void scalellm_f32_packed_linear(const float *panels, size_t first_panel, size_t panel_count, size_t n, size_t k,
                                const float *x, size_t m, float *y, size_t ldy, int accumulate) {
    if (__builtin_cpu_supports("avx512f"))
        packed_avx512(panels, first_panel, panel_count, n, k, x, m, y, ldy, accumulate);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        packed_avx2(panels, first_panel, panel_count, n, k, x, m, y, ldy, accumulate);
    else
        packed_baseline(panels, first_panel, panel_count, n, k, x, m, y, ldy, accumulate);
}
