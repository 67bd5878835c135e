#include "CGGUFQuants.h"

#include <string.h>

#include "half.h"

// Exact decoding to float32. Quantised blocks go through their unpacked form (unpack.c), whose `scale * q + min`
// is ggml's own arithmetic; a group without a min is `scale * q` alone, since adding a zero would turn ggml's
// -0.0 into +0.0.
#pragma STDC FP_CONTRACT OFF

/// Weights decoded per pass: the largest block (256), so the unpacked form fits on the stack.
#define CHUNK 256

/// Whether some group of `type` can have a non-zero min.
static int has_min(int type) {
    switch (type) {
    case SCALELLM_GGML_Q4_1: case SCALELLM_GGML_Q5_1: case SCALELLM_GGML_Q2_K: case SCALELLM_GGML_Q4_K:
    case SCALELLM_GGML_Q5_K: return 1;
    default: return 0;
    }
}

void scalellm_ggml_decode(int type, const void *source, size_t count, float *out) {
    const uint8_t *bytes = source;
    switch (type) {
    case SCALELLM_GGML_F32:
        memcpy(out, source, count * 4);
        return;
    case SCALELLM_GGML_F16:
        for (size_t i = 0; i < count; i++) out[i] = half_to_float(bytes + 2 * i);
        return;
    case SCALELLM_GGML_BF16:
        for (size_t i = 0; i < count; i++) {
            uint32_t bits = (uint32_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16;
            memcpy(out + i, &bits, 4);
        }
        return;
    }
    size_t elements = scalellm_ggml_block_elements(type), bytes_per_block = scalellm_ggml_block_bytes(type);
    if (elements <= 1) return;
    int with_min = has_min(type);
    int8_t q[CHUNK];
    float scale[CHUNK / SCALELLM_UNPACK_GROUP], min[CHUNK / SCALELLM_UNPACK_GROUP];
    for (size_t start = 0; start < count; start += elements, bytes += bytes_per_block) {
        scalellm_ggml_unpack_row(type, bytes, elements, q, scale, min, 1, 0);
        float *o = out + start;
        for (size_t i = 0; i < elements; i++) {
            float s = scale[i / SCALELLM_UNPACK_GROUP];
            o[i] = with_min ? s * q[i] + min[i / SCALELLM_UNPACK_GROUP] : s * q[i];
        }
    }
}
