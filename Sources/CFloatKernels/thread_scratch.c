#include "thread_scratch.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    void *bytes;
    size_t capacity;
} ThreadScratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void free_scratch(void *pointer) {
    ThreadScratch *scratch = pointer;
    free(scratch->bytes);
    free(scratch);
}

static void create_scratch_key(void) { pthread_key_create(&scratch_key, free_scratch); }

void *scalellm_thread_scratch(size_t bytes) {
    pthread_once(&scratch_once, create_scratch_key);
    ThreadScratch *scratch = pthread_getspecific(scratch_key);
    if (!scratch) {
        scratch = calloc(1, sizeof *scratch);
        if (!scratch || pthread_setspecific(scratch_key, scratch) != 0) {
            free(scratch);
            return NULL;
        }
    }
    if (scratch->capacity < bytes) {
        void *grown = NULL;
        if (posix_memalign(&grown, 64, bytes) != 0) return NULL;
        free(scratch->bytes);
        scratch->bytes = grown;
        scratch->capacity = bytes;
    }
    return scratch->bytes;
}
