#include "CFloatKernels.h"

#include <math.h>

#include "simd16.h"

/// One row (vector code in an inlined helper: the `target_clones` function itself may not pass vectors around).
SIMD16_INLINE void swiglu_row(const float *gate, const float *up, size_t width, float *y) {
    size_t i = 0;
    for (; i + 16 <= width; i += 16) {
        v16f g = load16(gate + i);
        store16(y + i, g / (1.0f + exp16(-g)) * load16(up + i));
    }
    for (; i < width; i++) y[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/// GELU with the tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, written as `x · sigmoid(2u)` (the
/// same function, without the cancellation of `1 + tanh` for negative x); times up (GeGLU, Gemma's MLP).
SIMD16_INLINE void gelu_tanh_row(const float *gate, const float *up, size_t width, float *y) {
    const float k = 0.7978845608028654f;   // √(2/π)
    size_t i = 0;
    for (; i + 16 <= width; i += 16) {
        v16f g = load16(gate + i);
        v16f u = k * (g + 0.044715f * g * g * g);
        store16(y + i, g * sigmoid16(2.0f * u) * load16(up + i));
    }
    for (; i < width; i++) {
        float g = gate[i], u = k * (g + 0.044715f * g * g * g);
        y[i] = g / (1.0f + expf(-2.0f * u)) * up[i];
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void scalellm_gated_activation(const float *gate_up, size_t rows, size_t width, int activation, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *gate = gate_up + r * 2 * width, *up = gate + width;
        if (activation == SCALELLM_ACTIVATION_GELU_TANH)
            gelu_tanh_row(gate, up, width, out + r * width);
        else
            swiglu_row(gate, up, width, out + r * width);
    }
}

SIMD16_INLINE void soft_cap_row(float *x, size_t count, float cap) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) store16(x + i, cap * tanh16(load16(x + i) / cap));
    for (; i < count; i++) x[i] = cap * tanhf(x[i] / cap);
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void scalellm_soft_cap(float *x, size_t count, float cap) { soft_cap_row(x, count, cap); }
