#include "CGGUFQuants.h"

// Block geometry of each supported ggml type (ggml-common.h): elements and bytes per block.

size_t scalellm_ggml_block_elements(int type) {
    switch (type) {
    case SCALELLM_GGML_F32: case SCALELLM_GGML_F16: case SCALELLM_GGML_BF16: return 1;
    case SCALELLM_GGML_Q4_0: case SCALELLM_GGML_Q4_1: case SCALELLM_GGML_Q5_0: case SCALELLM_GGML_Q5_1:
    case SCALELLM_GGML_Q8_0: case SCALELLM_GGML_IQ4_NL: return 32;
    case SCALELLM_GGML_Q2_K: case SCALELLM_GGML_Q3_K: case SCALELLM_GGML_Q4_K: case SCALELLM_GGML_Q5_K:
    case SCALELLM_GGML_Q6_K: case SCALELLM_GGML_IQ4_XS: return 256;
    default: return 0;
    }
}

size_t scalellm_ggml_block_bytes(int type) {
    switch (type) {
    case SCALELLM_GGML_F32: return 4;
    case SCALELLM_GGML_F16: case SCALELLM_GGML_BF16: return 2;
    case SCALELLM_GGML_Q4_0: return 2 + 16;              // d, 32 nibbles
    case SCALELLM_GGML_Q4_1: return 2 + 2 + 16;          // d, m, 32 nibbles
    case SCALELLM_GGML_Q5_0: return 2 + 4 + 16;          // d, 32 high bits, 32 nibbles
    case SCALELLM_GGML_Q5_1: return 2 + 2 + 4 + 16;      // d, m, 32 high bits, 32 nibbles
    case SCALELLM_GGML_Q8_0: return 2 + 32;              // d, 32 bytes
    case SCALELLM_GGML_IQ4_NL: return 2 + 16;            // d, 32 nibbles indexing a non-linear table
    case SCALELLM_GGML_Q2_K: return 16 + 64 + 2 + 2;     // 16 4-bit scale/min pairs, 256 2-bit values, d, dmin
    case SCALELLM_GGML_Q3_K: return 32 + 64 + 12 + 2;    // high bits, low 2 bits, 16 6-bit scales, d
    case SCALELLM_GGML_Q4_K: return 2 + 2 + 12 + 128;    // d, dmin, 8 6-bit scale/min pairs, 256 nibbles
    case SCALELLM_GGML_Q5_K: return 2 + 2 + 12 + 32 + 128;
    case SCALELLM_GGML_Q6_K: return 128 + 64 + 16 + 2;   // low nibbles, high 2 bits, 16 int8 scales, d
    case SCALELLM_GGML_IQ4_XS: return 2 + 2 + 4 + 128;   // d, high scale bits, low scale nibbles, 256 nibbles
    default: return 0;
    }
}

int scalellm_ggml_is_quantized(int type) {
    return scalellm_ggml_block_elements(type) > 1;
}
