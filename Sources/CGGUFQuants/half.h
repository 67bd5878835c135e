#ifndef SCALELLM_GGUF_HALF_H
#define SCALELLM_GGUF_HALF_H

#include <stdint.h>
#include <string.h>

/// The IEEE half at `p` (little-endian, any alignment) as a float: exact, like GGML_FP16_TO_FP32. Done with integer
/// and float arithmetic rather than a conversion instruction, which this target (built for every x86-64) cannot
/// assume, or the library call the compiler would emit instead (a third of a decode step's time): the half's
/// exponent and mantissa shifted into a float's bits read as 2^-112 times the value (subnormal halves included),
/// so one exact multiplication by 2^112 finishes the job; infinities and NaNs keep their all-ones exponent.
static inline float half_to_float(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, magnitude = (uint32_t)(h & 0x7FFF) << 13, bits;
    if (magnitude >= (0x7C00u << 13)) {
        bits = sign | 0x7F800000u | (magnitude & 0x7FFFFFu);
    } else {
        float f;
        memcpy(&f, &magnitude, 4);
        f *= 0x1p112f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

/// `x` rounded to the nearest IEEE half (ties to even), like GGML_FP32_TO_FP16 (only at load: speed is no concern).
static inline uint16_t float_to_half(float x) {
    _Float16 h = (_Float16)x;
    uint16_t bits;
    memcpy(&bits, &h, 2);
    return bits;
}

#endif
