#include "CFloatKernels.h"

#include "simd16.h"

/// One weight row against `rows` (1...4, a constant in each caller below) activation rows: each 16 weights are
/// loaded once and multiplied into every row's accumulator.
SIMD16_INLINE void dot_rows4(const float *w, size_t k, const float *x, size_t rows, float *sums) {
    v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t i = 0;
    for (; i + 16 <= k; i += 16) {
        v16f wv = load16(w + i);
        a0 += wv * load16(x + i);
        if (rows > 1) a1 += wv * load16(x + k + i);
        if (rows > 2) a2 += wv * load16(x + 2 * k + i);
        if (rows > 3) a3 += wv * load16(x + 3 * k + i);
    }
    v16f acc[4] = {a0, a1, a2, a3};
    for (size_t r = 0; r < rows; r++) {
        float s = sum16(acc[r]);
        for (size_t j = i; j < k; j++) s += w[j] * x[r * k + j];
        sums[r] = s;
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void scalellm_f32_linear_rows(const float *w, size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy,
                              int accumulate) {
    for (size_t j = 0; j < n; j++) {
        const float *row = w + j * k;
        for (size_t first = 0; first < m; first += 4) {
            size_t group = m - first < 4 ? m - first : 4;
            const float *xg = x + first * k;
            float sums[4];
            switch (group) {
            case 1: dot_rows4(row, k, xg, 1, sums); break;
            case 2: dot_rows4(row, k, xg, 2, sums); break;
            case 3: dot_rows4(row, k, xg, 3, sums); break;
            default: dot_rows4(row, k, xg, 4, sums); break;
            }
            for (size_t r = 0; r < group; r++) {
                float *out = y + (first + r) * ldy + j;
                *out = accumulate ? *out + sums[r] : sums[r];
            }
        }
    }
}
