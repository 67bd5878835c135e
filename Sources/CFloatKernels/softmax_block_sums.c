#include "CFloatKernels.h"

#include <math.h>

#include "simd16.h"

/// The largest of `n` floats, 16 lanes at a time.
SIMD16_INLINE float row_max(const float *x, size_t n) {
    float best = -INFINITY;
    size_t i = 0;
    if (n >= 16) {
        v16f m = load16(x);
        for (i = 16; i + 16 <= n; i += 16) m = __builtin_elementwise_max(m, load16(x + i));
        for (int lane = 0; lane < 16; lane++) best = fmaxf(best, m[lane]);
    }
    for (; i < n; i++) best = fmaxf(best, x[i]);
    return best;
}

/// Σ e^((x[i] - max) · scale) over one block.
SIMD16_INLINE float block_sum(const float *x, size_t n, float max, float scale) {
    v16f acc = splat(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) acc += exp16((load16(x + i) - max) * scale);
    float sum = sum16(acc);
    for (; i < n; i++) sum += expf((x[i] - max) * scale);
    return sum;
}

/// Σ e^((x[i] - max) · scale) over the x[i] ≥ threshold.
SIMD16_INLINE float sum_above(const float *x, size_t n, float max, float scale, float threshold) {
    v16f acc = splat(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16f v = load16(x + i);
        acc += (v16f)((v16i)exp16((v - max) * scale) & (v >= threshold));
    }
    float sum = sum16(acc);
    for (; i < n; i++)
        if (x[i] >= threshold) sum += expf((x[i] - max) * scale);
    return sum;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
float scalellm_softmax_block_sums(const float *logits, size_t n, float scale, size_t block, float *sums) {
    float max = row_max(logits, n);
    for (size_t start = 0, b = 0; start < n; start += block, b++)
        sums[b] = block_sum(logits + start, n - start < block ? n - start : block, max, scale);
    return max;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
float scalellm_softmax_mass_above(const float *logits, size_t n, float max, float scale, float threshold) {
    return sum_above(logits, n, max, scale, threshold);
}
