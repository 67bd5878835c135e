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

__attribute__((target_clones("avx512f", "avx2", "default")))
void scalellm_swiglu(const float *gate_up, size_t rows, size_t width, float *out) {
    for (size_t r = 0; r < rows; r++) swiglu_row(gate_up + r * 2 * width, gate_up + r * 2 * width + width, width, out + r * width);
}
