#ifndef SCALELLM_CFLOAT_KERNELS_H
#define SCALELLM_CFLOAT_KERNELS_H

#include <stddef.h>

/// Float32 linear layers for a few activation rows (decode steps of a small batch), in C because Swift compiles
/// for the baseline x86-64 (SSE2) only: the function is built for AVX-512, AVX2 + FMA and the baseline, and the
/// loader picks the best for the CPU (`target_clones`).
///
/// OpenBLAS's sgemm first copies ("packs") the whole weight into a buffer, which for 2–16 rows costs more than the
/// product itself; this reads each weight row once, straight from the model, against every activation row.

#ifdef __cplusplus
extern "C" {
#endif

/// `y[r * ldy + j] (+)= sum_i w[j * k + i] * x[r * k + i]` for weight rows j < n and activation rows r < m;
/// `accumulate` adds to y.
void scalellm_f32_linear_rows(const float *w, size_t n, size_t k, const float *x, size_t m, float *y, size_t ldy,
                              int accumulate);

#ifdef __cplusplus
}
#endif

#endif
