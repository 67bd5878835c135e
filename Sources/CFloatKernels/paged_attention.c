#include "CFloatKernels.h"

#include <math.h>

#include "kv_elements.h"
#include "level_dispatch.h"

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

/// Scores of lanes past `count` back to -inf (also after a transformation that moved them).
SIMD16_INLINE v16f mask_past(v16f s, size_t count) {
    v16i live = (v16i){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} < (int)count;
    return (v16f)(((v16i)s & live) | ((v16i)splat(-INFINITY) & ~live));
}

/// Dot products of q with `count` (1...16) keys of type `dtype`, key t at element `k + t * stride` of `block`, as one
/// vector: lane t for key t, -inf past `count`. One accumulator per key, all reduced together, instead of a
/// horizontal sum per key.
SIMD16_INLINE v16f key_scores(const float *q, const void *block, size_t k, size_t stride, size_t count,
                              size_t head_dim, int dtype) {
    size_t vectors = head_dim / 16;
    v16f acc[16];
    float tail[16];
#pragma clang loop unroll(full)   // keeps the 16 accumulators in registers
    for (int j = 0; j < 16; j++) {
        size_t t = (size_t)fold_order[j];
        size_t key = k + (t < count ? t : 0) * stride;   // lanes past the tile redo key 0, masked below
        v16f a = {0};
        for (size_t v = 0; v < vectors; v++) a += load16(q + 16 * v) * load_kv16(block, key + 16 * v, dtype);
        acc[j] = a;
        if (head_dim % 16) {
            float s = 0;
            for (size_t d = 16 * vectors; d < head_dim; d++) s += q[d] * load_kv1(block, key + d, dtype);
            tail[t] = s;
        }
    }
    for (int j = 0; j < 8; j++) acc[j] = fold8(acc[2 * j], acc[2 * j + 1]);
    for (int j = 0; j < 4; j++) acc[j] = fold4(acc[2 * j], acc[2 * j + 1]);
    for (int j = 0; j < 2; j++) acc[j] = fold2(acc[2 * j], acc[2 * j + 1]);
    v16f s = fold1(acc[0], acc[1]);
    if (head_dim % 16) s += load16(tail);
    return mask_past(s, count);
}

/// y = y * scale + w * x over n floats, x elements `i...` of `block`.
SIMD16_INLINE void scale_add(float *y, float scale, const void *block, size_t i, float w, size_t n, int dtype) {
    size_t d = 0;
    for (; d + 16 <= n; d += 16) store16(y + d, load16(y + d) * scale + load_kv16(block, i + d, dtype) * w);
    for (; d < n; d++) y[d] = y[d] * scale + w * load_kv1(block, i + d, dtype);
}

/// The fp8 scales of the `count` tokens from slot `first` for KV head `head` (times 256, which decode16 leaves
/// out), 1 in the lanes past `count`.
SIMD16_INLINE v16f token_scales(const char *scales, size_t first, size_t count, size_t kv_head_count, size_t head) {
    float s[16];
    for (size_t t = 0; t < 16; t++) {
        s[t] = 1.0f / 256.0f;
        if (t < count) memcpy(&s[t], scales + ((first + t) * kv_head_count + head) * sizeof(float), sizeof(float));
    }
    return load16(s) * 256.0f;
}

/// One KV head's keys and values in the pools of one layer, and the pools' layout (see the header).
typedef struct {
    const char *keys, *values;
    const int32_t *block_table;
    size_t block_size, block_bytes, token_stride, kv_head_count, head;
} KVHead;

/// What a query sees and how its scores are formed: `scale`, the soft-cap (0: none) and the first visible
/// position below the query's (`window` positions up to and including its own; 0: all).
typedef struct {
    float scale, soft_cap;
    size_t window;
} ScoreRule;

/// `heads` (1...3) query heads sharing one KV head, head_dim apart in q and out, over the positions the rule lets
/// the query at `position` see (0...position, or the last `window` of them): up to 16 keys at a time, an online softmax per head, each key and value vector loaded (and converted from `dtype`) once
/// for all the heads. The first 16 * min(head_dim / 16, 16) floats of each output accumulate in vectors (registers
/// when head_dim and heads are constants) written out once at the end; any rest accumulates in `out`.
SIMD16_INLINE void attend(const float *q, const KVHead *kv, size_t position, ScoreRule rule, float *out, size_t head_dim,
                          size_t heads, int dtype) {
    size_t vectors = head_dim / 16 < 16 ? head_dim / 16 : 16, rest = head_dim - 16 * vectors;
    size_t block_size = kv->block_size, token_stride = kv->token_stride;
    v16f acc[3][16], running_max[3], running_sum[3];   // running sums per lane, added up at the end
    for (size_t g = 0; g < heads; g++) {
        for (size_t j = 0; j < vectors; j++) acc[g][j] = splat(0);
        memset(out + g * head_dim + 16 * vectors, 0, rest * sizeof(float));
        running_max[g] = splat(-INFINITY);
        running_sum[g] = splat(0);
    }
    size_t lowest = rule.window && position + 1 > rule.window ? position + 1 - rule.window : 0;
    for (size_t start = lowest / block_size * block_size; start <= position; start += block_size) {
        size_t tile = position + 1 - start < block_size ? position + 1 - start : block_size;
        size_t block_offset = (size_t)kv->block_table[start / block_size] * kv->block_bytes;
        const char *key_block = kv->keys + block_offset, *value_block = kv->values + block_offset;
        for (size_t first = start < lowest ? lowest - start : 0; first < tile; first += 16) {
            size_t count = tile - first < 16 ? tile - first : 16;
            size_t at = first * token_stride + kv->head * head_dim;   // element of the tile's first key and value
            v16f p[3], correction[3], key_scales = splat(1), value_scales = splat(1);
            if (dtype == SCALELLM_KV_FP8) {
                size_t scales = block_size * token_stride;
                key_scales = token_scales(key_block + scales, first, count, kv->kv_head_count, kv->head);
                value_scales = token_scales(value_block + scales, first, count, kv->kv_head_count, kv->head);
            }
            for (size_t g = 0; g < heads; g++) {
                v16f s = key_scores(q + g * head_dim, key_block, at, token_stride, count, head_dim, dtype);
                if (dtype == SCALELLM_KV_FP8) s *= key_scales;
                s = s * rule.scale;
                if (rule.soft_cap > 0) s = mask_past(rule.soft_cap * tanh16(s / rule.soft_cap), count);
                v16f new_max = __builtin_elementwise_max(running_max[g], max_all(s));
                correction[g] = exp16(running_max[g] - new_max);
                p[g] = exp16(s - new_max);   // 0 in the lanes past count
                running_sum[g] = running_sum[g] * correction[g] + p[g];
                running_max[g] = new_max;
                for (size_t j = 0; j < vectors; j++) acc[g][j] *= correction[g];
            }
            for (size_t t = 0; t < count; t++) {
                size_t value = at + t * token_stride;
                float w[3];
                for (size_t g = 0; g < heads; g++) w[g] = dtype == SCALELLM_KV_FP8 ? p[g][t] * value_scales[t] : p[g][t];
                for (size_t j = 0; j < vectors; j++) {
                    v16f x = load_kv16(value_block, value + 16 * j, dtype);
                    for (size_t g = 0; g < heads; g++) acc[g][j] += x * w[g];
                }
                // The first value also applies the rescaling of what the rest accumulated before.
                for (size_t g = 0; g < heads; g++)
                    scale_add(out + g * head_dim + 16 * vectors, t == 0 ? correction[g][0] : 1.0f, value_block,
                              value + 16 * vectors, w[g], rest, dtype);
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
SIMD16_INLINE void attend_heads(const float *q, const KVHead *kv, size_t position, ScoreRule rule, float *out,
                                size_t head_dim, size_t heads, int dtype) {
    if (heads == 3)
        attend(q, kv, position, rule, out, head_dim, 3, dtype);
    else if (heads == 2)
        attend(q, kv, position, rule, out, head_dim, 2, dtype);
    else
        attend(q, kv, position, rule, out, head_dim, 1, dtype);
}

SIMD16_INLINE void attention(const float *query, size_t query_stride, size_t query_count, size_t first_position,
                             size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size,
                             const void *key_pool, const void *value_pool, const int32_t *block_table, ScoreRule rule,
                             float *output, size_t output_stride, int dtype) {
    size_t group = head_count / kv_head_count;
    size_t heads = group % 3 == 0 ? 3 : group % 2 == 0 ? 2 : 1;   // query heads taken together; divides group
    KVHead kv = {key_pool, value_pool, block_table, block_size,
                 scalellm_kv_block_bytes(block_size, kv_head_count, head_dim, dtype), kv_head_count * head_dim,
                 kv_head_count, 0};
    for (size_t i = 0; i < query_count; i++) {
        size_t position = first_position + i;
        for (size_t h = 0; h < head_count; h += heads) {
            const float *q = query + i * query_stride + h * head_dim;
            float *out = output + i * output_stride + h * head_dim;
            kv.head = h / group;
            // Common head sizes as constants, so the query and output vectors stay in registers.
            if (head_dim == 64)
                attend_heads(q, &kv, position, rule, out, 64, heads, dtype);
            else if (head_dim == 128)
                attend_heads(q, &kv, position, rule, out, 128, heads, dtype);
            else
                attend(q, &kv, position, rule, out, head_dim, heads, dtype);
        }
    }
}

// AVX-512 implies F16C and FMA; the AVX2 build takes F16C (vcvtph2ps) but not FMA, so that its float32 results
// are the same bits as before the KV cache had other element types.
#define ATTENTION(T)                                                                                                   \
    attention(query, query_stride, query_count, first_position, head_count, kv_head_count, head_dim, block_size,       \
              key_pool, value_pool, block_table, rule, output, output_stride, T)
#define INSTANTIATE(NAME, TARGET)                                                                                      \
    TARGET static void NAME(const float *query, size_t query_stride, size_t query_count, size_t first_position,       \
                            size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size, int dtype,   \
                            const void *key_pool, const void *value_pool, const int32_t *block_table, ScoreRule rule, \
                            float *output, size_t output_stride) {                                                   \
        WITH_KV_DTYPE(dtype, ATTENTION)                                                                              \
    }
INSTANTIATE(attention_avx512, __attribute__((target("avx512f,f16c"))))
INSTANTIATE(attention_avx2, __attribute__((target("avx2,f16c"))))
INSTANTIATE(attention_baseline, )
#undef INSTANTIATE
#undef ATTENTION

void scalellm_paged_attention(const float *query, size_t query_stride, size_t query_count, size_t first_position,
                              size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size,
                              int kv_dtype, const void *key_pool, const void *value_pool, const int32_t *block_table,
                              float scale, float soft_cap, size_t window, float *output, size_t output_stride,
                              int level) {
    ScoreRule rule = {scale, soft_cap, window};
    CALL_AT_LEVEL(level, attention, query, query_stride, query_count, first_position, head_count, kv_head_count,
                  head_dim, block_size, kv_dtype, key_pool, value_pool, block_table, rule, output, output_stride);
}
