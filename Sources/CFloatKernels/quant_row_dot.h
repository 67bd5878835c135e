#ifndef SCALELLM_QUANT_ROW_DOT_H
#define SCALELLM_QUANT_ROW_DOT_H

#include <stddef.h>
#include <stdint.h>

/// The most activation rows that `scalellm_quant_row_dot_avx2` takes: they meet each decoded weight block at once,
/// each keeping its accumulators in registers. Up to this many, a row dot beats a tile for every type that has one
/// (`scalellm bench linear --model` on Gemma 3 270M and SmolLM2, 2 cores of an AMD EPYC: at 4 rows by 1.1–1.4×, at
/// 8 rows, in two passes, the tile is faster): a row dot repeats per activation row the scaling that a tile does
/// once per 8 weight rows, and wins while decoding is the larger cost.
#define SCALELLM_ROW_DOT_ROWS 4

/// Whether rows of ggml `type` have a row dot (`scalellm_quant_row_dot_avx2`).
int scalellm_quant_has_row_dot(int type);

/// `y[r * ldy] (+)= Σ_i W[i] · xq[r][i]` for one weight row `row` of ggml `type` (one with a row dot) and the
/// activation rows r < m ≤ `SCALELLM_ROW_DOT_ROWS`, quantised as `scalellm_q8_quantize_rows` does: each block
/// decoded in registers and multiplied at once, with no tile (AVX2, FMA and F16C).
void scalellm_quant_row_dot_avx2(int type, const uint8_t *row, size_t k, const int8_t *xq, const float *x_scale,
                                 const float *x_sum, size_t m, float *y, size_t ldy, int accumulate);

#endif
