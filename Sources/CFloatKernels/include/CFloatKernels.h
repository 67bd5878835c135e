#ifndef SCALELLM_CFLOAT_KERNELS_H
#define SCALELLM_CFLOAT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Float32 kernels in C because Swift compiles for the baseline x86-64 (SSE2) only: each function is built for
/// AVX-512, AVX2 and the baseline, and the loader picks the best for the CPU (`target_clones`).

#ifdef __cplusplus
extern "C" {
#endif

/// Linear layers for a few activation rows (decode steps of a small batch). OpenBLAS's sgemm first copies
/// ("packs") the whole weight into a buffer, which for 2–12 rows costs more than the product itself; this reads each
/// weight row once, straight from the model, against every activation row:
/// `y[r * ldy + j] (+)= sum_i w[j * k + i] * x[r * k + i]` for weight rows j < n and activation rows r < m;
/// `accumulate` adds to y.
void scalellm_f32_linear_rows(const float *w, size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy,
                              int accumulate);

/// Causal attention of `query_count` query rows (positions `first_position...`) over a paged KV cache, one KV
/// block (tile) at a time with an online softmax; see `PagedAttention` in Kernels for the layout.
void scalellm_paged_attention(const float *query, size_t query_stride, size_t query_count, size_t first_position,
                              size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size,
                              const float *key_pool, const float *value_pool, const int32_t *block_table,
                              float *output, size_t output_stride);

#ifdef __cplusplus
}
#endif

#endif
