#ifndef SCALELLM_THREAD_SCRATCH_H
#define SCALELLM_THREAD_SCRATCH_H

#include <stddef.h>

/// This thread's scratch buffer of at least `bytes` bytes (64-byte aligned), grown on demand and freed when the
/// thread exits, or NULL if memory is short: where a core decodes weights (an fp8 panel, a tile of quantised rows)
/// that several blocks of activation rows then read. Not reentrant: one kernel at a time per thread uses it.
void *scalellm_thread_scratch(size_t bytes);

#endif
