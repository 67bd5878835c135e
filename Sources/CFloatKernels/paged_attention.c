#include "CFloatKernels.h"

#include <math.h>

#include "simd16.h"

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

SIMD16_INLINE float dot(const float *a, const float *b, size_t n) {
    v16f acc = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) acc += load16(a + i) * load16(b + i);
    float s = sum16(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/// y = y * scale + w * x over n floats.
SIMD16_INLINE void scale_add(float *y, float scale, const float *x, float w, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) store16(y + i, load16(y + i) * scale + load16(x + i) * w);
    for (; i < n; i++) y[i] = y[i] * scale + w * x[i];
}

/// scores[t] = e^(scores[t] - shift) for t < count; returns their sum.
SIMD16_INLINE float exponentiate(float *scores, float shift, size_t count) {
    float sum = 0;
    for (size_t t = 0; t < count; t += 16) {
        size_t lanes = count - t < 16 ? count - t : 16;
        float padded[16];
        for (size_t l = 0; l < 16; l++) padded[l] = l < lanes ? scores[t + l] : -INFINITY;
        v16f e = exp16(load16(padded) - shift);
        store16(padded, e);
        for (size_t l = 0; l < lanes; l++) scores[t + l] = padded[l];
        sum += sum16(e);   // padding lanes are e^-inf = 0
    }
    return sum;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void scalellm_paged_attention(const float *query, size_t query_stride, size_t query_count, size_t first_position,
                              size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size,
                              const float *key_pool, const float *value_pool, const int32_t *block_table,
                              float *output, size_t output_stride, float *scores) {
    size_t group = head_count / kv_head_count, token_stride = kv_head_count * head_dim;
    size_t block_stride = block_size * token_stride;
    float scale = 1.0f / sqrtf((float)head_dim);
    for (size_t i = 0; i < query_count; i++) {
        size_t position = first_position + i;
        for (size_t h = 0; h < head_count; h++) {
            const float *q = query + i * query_stride + h * head_dim;
            float *acc = output + i * output_stride + h * head_dim;
            memset(acc, 0, head_dim * sizeof(float));
            size_t head_offset = (h / group) * head_dim;
            float running_max = -INFINITY, running_sum = 0;
            for (size_t start = 0; start <= position; start += block_size) {
                size_t tile = position + 1 - start < block_size ? position + 1 - start : block_size;
                size_t base = (size_t)block_table[start / block_size] * block_stride + head_offset;
                float tile_max = -INFINITY;
                for (size_t t = 0; t < tile; t++) {
                    float s = dot(q, key_pool + base + t * token_stride, head_dim) * scale;
                    scores[t] = s;
                    tile_max = s > tile_max ? s : tile_max;
                }
                float new_max = running_max > tile_max ? running_max : tile_max;
                float correction = expf(running_max - new_max);
                running_sum = running_sum * correction + exponentiate(scores, new_max, tile);
                // The first value of a tile also applies the rescaling of what was accumulated before.
                for (size_t t = 0; t < tile; t++)
                    scale_add(acc, t == 0 ? correction : 1.0f, value_pool + base + t * token_stride, scores[t], head_dim);
                running_max = new_max;
            }
            float inverse = 1.0f / running_sum;
            for (size_t d = 0; d < head_dim; d++) acc[d] *= inverse;
        }
    }
}
