#ifndef SCALELLM_CFLOAT_KERNELS_H
#define SCALELLM_CFLOAT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Float32 kernels in C because Swift compiles for the baseline x86-64 (SSE2) only: each function is built for
/// AVX-512, AVX2 and the baseline, and the best for the CPU is picked at run time.

#ifdef __cplusplus
extern "C" {
#endif

/// Float32 linear layers `y = x · Wᵀ` over weights packed once at load. OpenBLAS's sgemm copies ("packs") the
/// whole weight into its own layout in every call, a pass over all the weights that costs as much as the product
/// for a decode batch; packing once at load removes that pass. A weight `W` (`n × k`, row-major, HuggingFace's
/// out × in) is stored as ⌈n / 32⌉ panels of 32 rows, each `k × 32` floats column by column (`panel[i * 32 + r] =
/// W[p * 32 + r][i]`, rows past n zero), so a kernel reads each panel front to back and every 32 weights of one
/// column meet a whole block of activation rows.
#define SCALELLM_F32_PANEL_ROWS 32

/// Floats a packed `n × k` weight takes (n rounded up to whole panels).
size_t scalellm_f32_packed_size(size_t n, size_t k);

/// Packs row-major `w` (`n × k`) into `panels` (`scalellm_f32_packed_size(n, k)` floats).
void scalellm_f32_pack(const float *w, size_t n, size_t k, float *panels);

/// Copies row `row` of a packed `? × k` weight to `out` (k floats): the embedding lookup of a tied LM head.
void scalellm_f32_packed_row(const float *panels, size_t k, size_t row, float *out);

/// `y[r * ldy + j] (+)= sum_i W[j][i] * x[r * k + i]` for the rows j of panels `first_panel ..< first_panel +
/// panel_count` (j < n) and activation rows r < m; `accumulate` adds to y. Threads split a layer by panels.
void scalellm_f32_packed_linear(const float *panels, size_t first_panel, size_t panel_count, size_t n, size_t k,
                                const float *x, size_t m, float *y, size_t ldy, int accumulate);

/// The gated activation of the Llama MLP, `out[r][i] = silu(gate[i]) * up[i]` with `silu(g) = g / (1 + e^-g)`,
/// where each of the `rows` rows of `gate_up` holds `width` gate values followed by `width` up values; the
/// exponentials 16 at a time (within a few ulp of `expf`).
void scalellm_swiglu(const float *gate_up, size_t rows, size_t width, float *out);

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
