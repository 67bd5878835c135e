#ifndef SCALELLM_CFP8_KERNELS_H
#define SCALELLM_CFP8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// E4M3 (OCP float8_e4m3fn) decoding kernels for the fp8 linear layers, in C because Swift compiles for the
/// baseline x86-64 (SSE2) only. Each entry point picks at run time (CPUID) the widest instruction set the CPU and
/// OS support: AVX-512 (F, BW, VL), AVX2 + F16C + FMA, or portable C. The vector paths use the fact that an E4M3
/// code `s eeee mmm` shifted into an IEEE half `s 0eeee mmm0000000` is exactly its value times 2^-8 (subnormals
/// included), which the hardware converts to float (vcvtph2ps). NaN codes (0x7F, 0xFF) are not handled
/// specially: quantisation never produces them from finite weights.

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels; `scalellm_fp8_isa()` returns the best one available.
enum {
    SCALELLM_FP8_ISA_PORTABLE = 0,
    SCALELLM_FP8_ISA_AVX2 = 1,
    SCALELLM_FP8_ISA_AVX512 = 2,
};

/// The best level this CPU and OS support (detected once).
int scalellm_fp8_isa(void);

/// `out[i] = decode(codes[i]) * scale` for `count` elements, using level `isa` (clamped to what is available;
/// pass -1 for the best).
void scalellm_fp8_dequantize(const uint8_t *codes, size_t count, float scale, float *out, int isa);

/// `sum_i decode(codes[i]) * x[i]` for `count` elements (unscaled), using level `isa` as above.
float scalellm_fp8_dot(const uint8_t *codes, const float *x, size_t count, int isa);

/// `y[r * y_stride] (+)= scale * sum_i decode(codes[i]) * x[r * x_stride + i]` for r in 0..<rows: one weight row
/// against `rows` activation rows; the weight row is read once and each group of codes decoded once per 4
/// activation rows. `accumulate` adds to y.
void scalellm_fp8_dot_rows(const uint8_t *codes, size_t count, float scale, const float *x, size_t x_stride,
                           size_t rows, float *y, size_t y_stride, int accumulate, int isa);

/// A whole fused linear layer: `y[r * ldy + j] (+)= scales[j] * sum_i decode(codes[j * k + i]) * x[r * k + i]` for
/// every weight row j < n and activation row r < m, i.e. `scalellm_fp8_dot_rows` for each weight row.
void scalellm_fp8_linear(const uint8_t *codes, const float *scales, size_t n, size_t k, const float *x, size_t m,
                         float *y, size_t ldy, int accumulate, int isa);

/// Rows of the panel layout of `scalellm_f32_packed_linear` (CFloatKernels), repeated here so that this target
/// stays independent of that one.
#define SCALELLM_FP8_PANEL_ROWS 32

/// Dequantises `rows` (at most 32) consecutive rows of a row-major E4M3 matrix `k` wide, `codes` and `scales`
/// pointing at the first, into one fp32 panel: `out[i * 32 + r] = decode(codes[r * k + i]) * scales[r]`, zero for
/// r >= rows (`32 * k` floats). Bit for bit `scalellm_fp8_dequantize`, transposed. AVX-512 decodes 16 × 16 blocks
/// and transposes them in registers; other levels use the portable decode.
void scalellm_fp8_dequantize_panel(const uint8_t *codes, const float *scales, size_t rows, size_t k, float *out,
                                   int isa);

#ifdef __cplusplus
}
#endif

#endif
