#include "CFloatKernels.h"

#include <math.h>

#include "simd16.h"

/// The maximum of v's lanes, in every lane (a butterfly of lane swaps).
SIMD16_INLINE v16f max_all(v16f v) {
    v = __builtin_elementwise_max(v, __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    v = __builtin_elementwise_max(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
    v = __builtin_elementwise_max(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
    return __builtin_elementwise_max(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
}

// Steps of the tree that reduces 16 vectors to one vector of their 16 sums. Each adds the two halves of every
// run of 2w lanes, of a into the first w lanes of the run and of b into the last w.
SIMD16_INLINE v16f fold8(v16f a, v16f b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}
SIMD16_INLINE v16f fold4(v16f a, v16f b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27) +
           __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
}
SIMD16_INLINE v16f fold2(v16f a, v16f b) {
    return __builtin_shufflevector(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
           __builtin_shufflevector(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
}
SIMD16_INLINE v16f fold1(v16f a, v16f b) {
    return __builtin_shufflevector(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30) +
           __builtin_shufflevector(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
}

/// The fold tree leaves the sum of input j in lane bitreverse4(j), so keys go in in that order to land in lane t.
static const int fold_order[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

/// Dot products of q with `count` (1...16) keys, key t at k + t * stride, as one vector: lane t for key t, -inf past
/// `count`. One accumulator per key, all reduced together, instead of a horizontal sum per key.
SIMD16_INLINE v16f key_scores(const float *q, const float *k, size_t stride, size_t count, size_t head_dim) {
    size_t vectors = head_dim / 16;
    v16f acc[16];
    float tail[16];
#pragma clang loop unroll(full)   // keeps the 16 accumulators in registers
    for (int j = 0; j < 16; j++) {
        size_t t = (size_t)fold_order[j];
        const float *key = k + (t < count ? t : 0) * stride;   // lanes past the tile redo key 0, masked below
        v16f a = {0};
        for (size_t v = 0; v < vectors; v++) a += load16(q + 16 * v) * load16(key + 16 * v);
        acc[j] = a;
        if (head_dim % 16) {
            float s = 0;
            for (size_t d = 16 * vectors; d < head_dim; d++) s += q[d] * key[d];
            tail[t] = s;
        }
    }
    for (int j = 0; j < 8; j++) acc[j] = fold8(acc[2 * j], acc[2 * j + 1]);
    for (int j = 0; j < 4; j++) acc[j] = fold4(acc[2 * j], acc[2 * j + 1]);
    for (int j = 0; j < 2; j++) acc[j] = fold2(acc[2 * j], acc[2 * j + 1]);
    v16f s = fold1(acc[0], acc[1]);
    if (head_dim % 16) s += load16(tail);
    v16i live = (v16i){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} < (int)count;
    return (v16f)(((v16i)s & live) | ((v16i)splat(-INFINITY) & ~live));
}

/// y = y * scale + w * x over n floats.
SIMD16_INLINE void scale_add(float *y, float scale, const float *x, float w, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) store16(y + i, load16(y + i) * scale + load16(x + i) * w);
    for (; i < n; i++) y[i] = y[i] * scale + w * x[i];
}

/// `heads` (1...3) query heads sharing one KV head, head_dim apart in q and out, over positions 0...position: up to 16
/// keys at a time, an online softmax per head, each key and value vector loaded once for all the heads. The first
/// 16 * min(head_dim / 16, 16) floats of each output accumulate in vectors (registers when head_dim and heads are
/// constants) written out once at the end; any rest accumulates in `out`.
SIMD16_INLINE void attend(const float *q, const float *keys, const float *values, const int32_t *block_table,
                          size_t position, size_t block_size, size_t block_stride, size_t token_stride, float scale,
                          float *out, size_t head_dim, size_t heads) {
    size_t vectors = head_dim / 16 < 16 ? head_dim / 16 : 16, rest = head_dim - 16 * vectors;
    v16f acc[3][16], running_max[3], running_sum[3];   // running sums per lane, added up at the end
    for (size_t g = 0; g < heads; g++) {
        for (size_t j = 0; j < vectors; j++) acc[g][j] = splat(0);
        memset(out + g * head_dim + 16 * vectors, 0, rest * sizeof(float));
        running_max[g] = splat(-INFINITY);
        running_sum[g] = splat(0);
    }
    for (size_t start = 0; start <= position; start += block_size) {
        size_t tile = position + 1 - start < block_size ? position + 1 - start : block_size;
        size_t base = (size_t)block_table[start / block_size] * block_stride;
        for (size_t first = 0; first < tile; first += 16) {
            size_t count = tile - first < 16 ? tile - first : 16;
            const float *k = keys + base + first * token_stride, *v = values + base + first * token_stride;
            v16f p[3], correction[3];
            for (size_t g = 0; g < heads; g++) {
                v16f s = key_scores(q + g * head_dim, k, token_stride, count, head_dim) * scale;
                v16f new_max = __builtin_elementwise_max(running_max[g], max_all(s));
                correction[g] = exp16(running_max[g] - new_max);
                p[g] = exp16(s - new_max);   // 0 in the lanes past count
                running_sum[g] = running_sum[g] * correction[g] + p[g];
                running_max[g] = new_max;
                for (size_t j = 0; j < vectors; j++) acc[g][j] *= correction[g];
            }
            for (size_t t = 0; t < count; t++) {
                const float *value = v + t * token_stride;
                for (size_t j = 0; j < vectors; j++) {
                    v16f x = load16(value + 16 * j);
                    for (size_t g = 0; g < heads; g++) acc[g][j] += x * p[g][t];
                }
                // The first value also applies the rescaling of what the rest accumulated before.
                for (size_t g = 0; g < heads; g++)
                    scale_add(out + g * head_dim + 16 * vectors, t == 0 ? correction[g][0] : 1.0f,
                              value + 16 * vectors, p[g][t], rest);
            }
        }
    }
    for (size_t g = 0; g < heads; g++) {
        float inverse = 1.0f / sum16(running_sum[g]), *o = out + g * head_dim;
        for (size_t j = 0; j < vectors; j++) store16(o + 16 * j, acc[g][j] * inverse);
        for (size_t d = 16 * vectors; d < head_dim; d++) o[d] *= inverse;
    }
}

/// `attend` with `heads` as a constant, for a constant head_dim.
SIMD16_INLINE void attend_heads(const float *q, const float *keys, const float *values, const int32_t *block_table,
                                size_t position, size_t block_size, size_t block_stride, size_t token_stride,
                                float scale, float *out, size_t head_dim, size_t heads) {
    if (heads == 3)
        attend(q, keys, values, block_table, position, block_size, block_stride, token_stride, scale, out, head_dim, 3);
    else if (heads == 2)
        attend(q, keys, values, block_table, position, block_size, block_stride, token_stride, scale, out, head_dim, 2);
    else
        attend(q, keys, values, block_table, position, block_size, block_stride, token_stride, scale, out, head_dim, 1);
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void scalellm_paged_attention(const float *query, size_t query_stride, size_t query_count, size_t first_position,
                              size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size,
                              const float *key_pool, const float *value_pool, const int32_t *block_table,
                              float *output, size_t output_stride) {
    size_t group = head_count / kv_head_count, token_stride = kv_head_count * head_dim;
    size_t block_stride = block_size * token_stride;
    size_t heads = group % 3 == 0 ? 3 : group % 2 == 0 ? 2 : 1;   // query heads taken together; divides group
    float scale = 1.0f / sqrtf((float)head_dim);
    for (size_t i = 0; i < query_count; i++) {
        size_t position = first_position + i;
        for (size_t h = 0; h < head_count; h += heads) {
            const float *q = query + i * query_stride + h * head_dim;
            float *out = output + i * output_stride + h * head_dim;
            size_t head_offset = (h / group) * head_dim;
            const float *keys = key_pool + head_offset, *values = value_pool + head_offset;
            // Common head sizes as constants, so the query and output vectors stay in registers.
            if (head_dim == 64)
                attend_heads(q, keys, values, block_table, position, block_size, block_stride, token_stride, scale,
                             out, 64, heads);
            else if (head_dim == 128)
                attend_heads(q, keys, values, block_table, position, block_size, block_stride, token_stride, scale,
                             out, 128, heads);
            else
                attend(q, keys, values, block_table, position, block_size, block_stride, token_stride, scale, out,
                       head_dim, heads);
        }
    }
}
