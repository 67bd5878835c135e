#ifndef SCALELLM_CGGUF_QUANTS_H
#define SCALELLM_CGGUF_QUANTS_H

#include <stddef.h>
#include <stdint.h>

/// The block encodings of GGUF tensors (ggml's quantisation formats), in C because every weight of a quantised
/// model passes through these loops. Types are named by ggml's numeric ids (`ggml_type`), which is how a GGUF file
/// names them. Three services:
/// - exact decoding to float32, bit for bit what ggml's own `to_float` gives (the golden vectors check it);
/// - "unpacking" into the one integer form the quantised linear kernel computes on: every 16 consecutive weights
///   of a row are `scale * q + min` with `q` a signed 8-bit integer and `scale`, `min` floats (`min` is 0 for the
///   symmetric types), so that one kernel serves every type;
/// - the reference (round-to-nearest) quantisers of Q8_0 and Q4_0, for float checkpoints quantised at load.

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SCALELLM_GGML_F32 = 0,
    SCALELLM_GGML_F16 = 1,
    SCALELLM_GGML_Q4_0 = 2,
    SCALELLM_GGML_Q4_1 = 3,
    SCALELLM_GGML_Q5_0 = 6,
    SCALELLM_GGML_Q5_1 = 7,
    SCALELLM_GGML_Q8_0 = 8,
    SCALELLM_GGML_Q2_K = 10,
    SCALELLM_GGML_Q3_K = 11,
    SCALELLM_GGML_Q4_K = 12,
    SCALELLM_GGML_Q5_K = 13,
    SCALELLM_GGML_Q6_K = 14,
    SCALELLM_GGML_IQ4_NL = 20,
    SCALELLM_GGML_IQ4_XS = 23,
    SCALELLM_GGML_BF16 = 30,
};

/// Weights per unpacked group: each group of 16 consecutive weights of a row has one scale and one min.
#define SCALELLM_UNPACK_GROUP 16

/// Elements per block of `type` (1 for the float types), or 0 for a type not listed above.
size_t scalellm_ggml_block_elements(int type);

/// Bytes per block of `type`, or 0 for a type not listed above.
size_t scalellm_ggml_block_bytes(int type);

/// Whether `type` is one of the block-quantised types (not F32/F16/BF16): the types `scalellm_ggml_unpack_row`
/// takes.
int scalellm_ggml_is_quantized(int type);

/// Decodes `count` elements (a whole number of blocks) of `type` at `source` into `out`, exactly as ggml does.
void scalellm_ggml_decode(int type, const void *source, size_t count, float *out);

/// Unpacks one row of `k` weights (a whole number of blocks; k a multiple of 32) of a quantised `type`: `q[i]`
/// (k values) and, for group g (k / 16 of them), `scale[g * stride]` and `min[g * stride]` (a stride > 1 writes
/// straight into a kernel's interleaved layout), with weight i equal to `scale[i / 16] * q[i] + min[i / 16]` — in
/// float32 the very value `scalellm_ggml_decode` gives. With `shifted`, the types stored with an offset (Q4_0's
/// q − 8, Q5_0's q − 16, Q3_K's q − 4) give their values without it and the offset times the scale as a negative
/// min instead: every value is then in 0…31 for all types but Q6_K, Q8_0, IQ4_NL and IQ4_XS (the same weights, no
/// longer bit for bit ggml's in float32).
void scalellm_ggml_unpack_row(int type, const void *row, size_t k, int8_t *q, float *scale, float *min, size_t stride,
                              int shifted);

/// Quantises `count` floats (a multiple of 32) to Q8_0 or Q4_0 blocks at `out` as ggml's reference quantisers
/// (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`) do: round to nearest, the scale stored as fp16.
void scalellm_ggml_quantize_q8_0(const float *x, size_t count, void *out);
void scalellm_ggml_quantize_q4_0(const float *x, size_t count, void *out);

#ifdef __cplusplus
}
#endif

#endif
