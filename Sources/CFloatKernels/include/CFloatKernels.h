#ifndef SCALELLM_CFLOAT_KERNELS_H
#define SCALELLM_CFLOAT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Float32 kernels (and the fp8 linear layers and 16- and 8-bit KV caches, whose elements are decoded to floats
/// inside the kernels) in C because Swift compiles for the baseline x86-64 (SSE2) only: each function is built for
/// AVX-512, AVX2 and the baseline, and the best for the CPU is picked at run time.

#ifdef __cplusplus
extern "C" {
#endif

/// Linear layers `y = x · Wᵀ` over weights packed once at load. OpenBLAS's sgemm copies ("packs") the whole weight
/// into its own layout in every call, a pass over all the weights that costs as much as the product for a decode
/// batch; packing once at load removes that pass. A weight `W` (`n × k`, row-major, HuggingFace's out × in) is
/// stored as ⌈n / 32⌉ panels of 32 rows, each `k × 32` elements column by column (`panel[i * 32 + r] =
/// W[p * 32 + r][i]`, rows past n zero), so a kernel reads each panel front to back and every 32 weights of one
/// column meet a whole block of activation rows. fp32 panels hold floats; fp8 panels hold E4M3 codes (OCP
/// float8_e4m3fn) in the same order, with one float scale per row (`W[j][i] = decode(code) * scales[j]`, scales
/// padded with zeros to whole panels), decoded inside the product.
#define SCALELLM_PANEL_ROWS 32

/// Instruction-set levels of the packed kernels: `scalellm_packed_level()` is the best this CPU and OS support.
enum {
    SCALELLM_LEVEL_BASELINE = 0,   // x86-64 baseline (SSE2); E4M3 halves converted by a library call
    SCALELLM_LEVEL_AVX2 = 1,       // AVX2 + F16C + FMA
    SCALELLM_LEVEL_AVX512 = 2,     // AVX-512F + F16C + FMA
};
int scalellm_packed_level(void);

/// Floats a packed fp32 `n × k` weight takes (n rounded up to whole panels); an fp8 one takes as many bytes.
size_t scalellm_f32_packed_size(size_t n, size_t k);

/// Packs row-major `w` (`n × k`) into `panels` (`scalellm_f32_packed_size(n, k)` floats).
void scalellm_f32_pack(const float *w, size_t n, size_t k, float *panels);

/// Copies row `row` of a packed `? × k` weight to `out` (k floats): the embedding lookup of a tied LM head.
void scalellm_f32_packed_row(const float *panels, size_t k, size_t row, float *out);

/// `y[r * ldy + j] (+)= sum_i W[j][i] * x[r * k + i]` for the rows j of panels `first_panel ..< first_panel +
/// panel_count` (j < n) and activation rows r < m; `accumulate` adds to y. Threads split a layer by panels.
void scalellm_f32_packed_linear(const float *panels, size_t first_panel, size_t panel_count, size_t n, size_t k,
                                const float *x, size_t m, float *y, size_t ldy, int accumulate);

/// The same product over fp8 panels (`codes`, `scales`), with the instruction-set `level` given (at most
/// `scalellm_packed_level()`; tests run every level the machine has).
void scalellm_fp8_packed_linear(const uint8_t *codes, const float *scales, size_t first_panel, size_t panel_count,
                                size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy, int accumulate,
                                int level);

/// Decodes one fp8 panel (`codes` at the panel, `scales` at its first row) into `out` (`32 × k` floats, the fp32
/// panel layout): `decode(code) * scale`, bit for bit whichever level does it.
void scalellm_fp8_unpack_panel(const uint8_t *codes, const float *scales, size_t k, float *out, int level);

/// Linear layers over GGUF-quantised weights, computed on the integers (see CGGUFQuants.h for the formats). Each
/// weight row stays in its file's encoding (`rows[j]` points at row j's blocks, `types[j]` is its ggml type, so
/// the rows of Q, K and V of different types can form one matrix). A thread unpacks 8 rows at a time (a tile) into
/// signed bytes with one float scale and min per 16 weights, interleaved 4 weights of each row at a time, and
/// multiplies that tile by every activation row; activations are quantised beforehand to signed bytes per 32
/// (`scalellm_q8_quantize_rows`, like ggml's Q8_0). A group of 16 contributes
/// `scale · x_scale · Σ q·xq + min · x_sum`, the sum exact in 32-bit integers.
#define SCALELLM_QUANT_TILE_ROWS 8

/// Quantises `m` rows of `k` floats (k a multiple of 32) as ggml's Q8_0 does (per 32 values `d = max|x| / 127`,
/// `q = round(x / d)`): `q` gets `m × k` bytes; for every group of 16 values, `x_scale` gets its block's `d` and
/// `x_sum` gets `d · Σ q` over the group (`m × k / 16` floats each).
void scalellm_q8_quantize_rows(const float *x, size_t m, size_t k, int8_t *q, float *x_scale, float *x_sum);

/// `y[r * ldy + j] (+)= Σ_i W[j][i] · xq[r][i]` (the quantised forms above) for the rows j of tiles `first_tile
/// ..< first_tile + tile_count` (j < n) and activation rows r < m, with instruction-set `level` (at most
/// `scalellm_packed_level()`; there is no AVX-512 variant: that level runs the AVX2 code).
void scalellm_quant_linear(const void *const *rows, const uint8_t *types, size_t n, size_t k, size_t first_tile,
                           size_t tile_count, const int8_t *xq, const float *x_scale, const float *x_sum, size_t m,
                           float *y, size_t ldy, int accumulate, int level);

/// Activations of a gated MLP (`GatedActivation` in ModelFormats).
enum {
    SCALELLM_ACTIVATION_SILU = 0,        // silu(g) = g / (1 + e^-g): SwiGLU (Llama, Qwen, Mistral, Phi-3)
    SCALELLM_ACTIVATION_GELU_TANH = 1,   // GELU, tanh approximation: GeGLU (Gemma)
};

/// The gated activation of an MLP, `out[r][i] = act(gate[i]) * up[i]`, where each of the `rows` rows of `gate_up`
/// holds `width` gate values followed by `width` up values; the exponentials 16 at a time (within a few ulp of
/// `expf`).
void scalellm_gated_activation(const float *gate_up, size_t rows, size_t width, int activation, float *out);

/// `x[i] = cap · tanh(x[i] / cap)` over `count` floats (Gemma 2's logit soft-capping), 16 at a time.
void scalellm_soft_cap(float *x, size_t count, float cap);

/// The unnormalised softmax of one row of sampling logits at temperature `1 / scale`, summed per block: returns
/// the largest logit `max` and writes `sums[b] = Σ e^((logits[i] - max) · scale)` over `i` in block `b` (`block`
/// logits each, the last possibly fewer; `⌈n / block⌉` sums). The mass of a row without writing its `n`
/// probabilities anywhere, so that a sampler can find the block a draw falls in and recompute only that block;
/// the exponentials 16 at a time (within a few ulp of `expf`).
float scalellm_softmax_block_sums(const float *logits, size_t n, float scale, size_t block, float *sums);

/// The part of that mass held by the logits at or above `threshold`: `Σ e^((logits[i] - max) · scale)` over
/// `logits[i] ≥ threshold`, without listing them (how far down a top-p nucleus can reach).
float scalellm_softmax_mass_above(const float *logits, size_t n, float max, float scale, float threshold);


/// Element types of the paged KV cache (`KVCacheDType` in Kernels). One layer's key (or value) pool is a run of
/// blocks; a block holds `block_size` tokens, each `kv_head_count × head_dim` elements (head by head). An fp8 block
/// (E4M3 codes) is followed by its scales, one float per token and KV head (`block_size × kv_head_count`, token by
/// token): element = decode(code) × scale, scale = max |x| / 448 over that token's head.
enum {
    SCALELLM_KV_F32 = 0,
    SCALELLM_KV_F16 = 1,    // IEEE half
    SCALELLM_KV_BF16 = 2,   // the top 16 bits of a float
    SCALELLM_KV_FP8 = 3,    // E4M3 (OCP float8_e4m3fn) with a float scale per token and KV head
};

/// Bytes of one block of one layer's key (or value) pool.
size_t scalellm_kv_block_bytes(size_t block_size, size_t kv_head_count, size_t head_dim, int kv_dtype);

/// Stores `count` tokens, each `kv_head_count × head_dim` floats (rows `row_stride` apart), at positions
/// `first_position...` of the sequence with `block_table` in `pool`, converted to `kv_dtype` rounding to nearest
/// even (f16 saturates at ±65504), with the instruction-set `level` given (at most `scalellm_packed_level()`).
void scalellm_kv_store(const float *rows, size_t row_stride, size_t count, size_t first_position,
                       const int32_t *block_table, size_t block_size, size_t kv_head_count, size_t head_dim,
                       int kv_dtype, void *pool, int level);

/// Causal attention of `query_count` query rows (positions `first_position...`) over a paged KV cache of
/// `kv_dtype` elements, one KV block (tile) at a time with an online softmax, with the instruction-set `level`
/// given; see `PagedAttention` in Kernels for the layout. Scores are `q·k · scale`, soft-capped to
/// `soft_cap · tanh(score / soft_cap)` when `soft_cap > 0`; with `window > 0` a query at position p sees only the
/// keys at `p - window + 1 ... p` (sliding-window attention; the blocks before are not read).
void scalellm_paged_attention(const float *query, size_t query_stride, size_t query_count, size_t first_position,
                              size_t head_count, size_t kv_head_count, size_t head_dim, size_t block_size,
                              int kv_dtype, const void *key_pool, const void *value_pool, const int32_t *block_table,
                              float scale, float soft_cap, size_t window, float *output, size_t output_stride,
                              int level);

#ifdef __cplusplus
}
#endif

#endif
