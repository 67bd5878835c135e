#include "CGGUFQuants.h"

#include <math.h>

#include "half.h"

// ggml's reference quantisers (quantize_row_q8_0_ref, quantize_row_q4_0_ref), for float checkpoints the user asks
// to hold as Q8_0 or Q4_0: the same rounding, so a model quantised here equals one quantised by llama.cpp.
#pragma STDC FP_CONTRACT OFF

void scalellm_ggml_quantize_q8_0(const float *x, size_t count, void *out) {
    uint8_t *block = out;
    for (size_t b = 0; b < count / 32; b++, x += 32, block += 34) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        uint16_t dh = float_to_half(d);
        memcpy(block, &dh, 2);
        for (int j = 0; j < 32; j++) block[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    }
}

void scalellm_ggml_quantize_q4_0(const float *x, size_t count, void *out) {
    uint8_t *block = out;
    for (size_t b = 0; b < count / 32; b++, x += 32, block += 18) {
        // The value of largest magnitude, with its sign, maps to -8.
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        float d = max / -8, id = d ? 1.0f / d : 0.0f;
        uint16_t dh = float_to_half(d);
        memcpy(block, &dh, 2);
        for (int j = 0; j < 16; j++) {
            float x0 = x[j] * id, x1 = x[16 + j] * id;
            int q0 = (int8_t)(x0 + 8.5f), q1 = (int8_t)(x1 + 8.5f);
            block[2 + j] = (uint8_t)((q0 < 15 ? q0 : 15) | ((q1 < 15 ? q1 : 15) << 4));
        }
    }
}
