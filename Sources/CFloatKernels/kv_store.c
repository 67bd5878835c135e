#include "CFloatKernels.h"

#include <math.h>

#include "kv_elements.h"
#include "level_dispatch.h"

// Writing tokens' keys or values into the paged KV cache, converted to the cache's element type (see the header
// for the block layout).

size_t scalellm_kv_block_bytes(size_t block_size, size_t kv_head_count, size_t head_dim, int kv_dtype) {
    size_t elements = block_size * kv_head_count * head_dim;
    size_t scales = kv_dtype == SCALELLM_KV_FP8 ? block_size * kv_head_count * sizeof(float) : 0;
    return elements * kv_element_bytes(kv_dtype) + scales;
}

/// One head's `head_dim` floats times `factor` into elements `i...` of `block`, 16 at a time; a last partial
/// vector is converted from a zero-padded copy, so that every element goes through the same rounding.
SIMD16_INLINE void store_head(const float *x, size_t head_dim, float factor, char *block, size_t i, int dtype) {
    size_t d = 0;
    for (; d + 16 <= head_dim; d += 16) store_kv16(block, i + d, load16(x + d) * factor, dtype);
    if (d < head_dim) {
        float padded[16] = {0};
        char converted[64];
        memcpy(padded, x + d, (head_dim - d) * sizeof(float));
        store_kv16(converted, 0, load16(padded) * factor, dtype);
        memcpy(block + (i + d) * kv_element_bytes(dtype), converted, (head_dim - d) * kv_element_bytes(dtype));
    }
}

SIMD16_INLINE void store_tokens(const float *rows, size_t row_stride, size_t count, size_t first_position,
                                const int32_t *block_table, size_t block_size, size_t kv_head_count, size_t head_dim,
                                void *pool, int dtype) {
    size_t token_stride = kv_head_count * head_dim;
    size_t block_bytes = scalellm_kv_block_bytes(block_size, kv_head_count, head_dim, dtype);
    for (size_t t = 0; t < count; t++) {
        size_t position = first_position + t, slot = position % block_size;
        char *block = (char *)pool + (size_t)block_table[position / block_size] * block_bytes;
        for (size_t h = 0; h < kv_head_count; h++) {
            const float *x = rows + t * row_stride + h * head_dim;
            float factor = 1.0f;
            if (dtype == SCALELLM_KV_FP8) {
                // The head's largest magnitude becomes E4M3's largest, 448.
                float largest = 0;
                for (size_t d = 0; d < head_dim; d++) largest = fmaxf(largest, fabsf(x[d]));
                float scale = largest / 448.0f;
                factor = largest > 0 ? 448.0f / largest : 0.0f;
                memcpy(block + block_size * token_stride + (slot * kv_head_count + h) * sizeof(float), &scale,
                       sizeof scale);
            }
            store_head(x, head_dim, factor, block, slot * token_stride + h * head_dim, dtype);
        }
    }
}

#define STORE_TOKENS(T)                                                                                                \
    store_tokens(rows, row_stride, count, first_position, block_table, block_size, kv_head_count, head_dim, pool, T)
#define INSTANTIATE(NAME, TARGET)                                                                                      \
    TARGET static void NAME(const float *rows, size_t row_stride, size_t count, size_t first_position,                \
                            const int32_t *block_table, size_t block_size, size_t kv_head_count, size_t head_dim,     \
                            int dtype, void *pool) {                                                                 \
        WITH_KV_DTYPE(dtype, STORE_TOKENS)                                                                           \
    }
INSTANTIATE(store_avx512, __attribute__((target("avx512f,f16c"))))
INSTANTIATE(store_avx2, __attribute__((target("avx2,f16c"))))
INSTANTIATE(store_baseline, )
#undef INSTANTIATE
#undef STORE_TOKENS

void scalellm_kv_store(const float *rows, size_t row_stride, size_t count, size_t first_position,
                       const int32_t *block_table, size_t block_size, size_t kv_head_count, size_t head_dim,
                       int kv_dtype, void *pool, int level) {
    CALL_AT_LEVEL(level, store, rows, row_stride, count, first_position, block_table, block_size, kv_head_count,
                  head_dim, kv_dtype, pool);
}
