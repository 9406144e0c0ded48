/*
 * arena.c — chunked bump allocator behind arena.h.
 *
 * Chunks double in size from 4 KiB up to 1 MiB; a request bigger than the
 * next chunk gets a chunk of its own. The newest chunk is always the one
 * allocated from, so a big one-off chunk does not strand a partly used one
 * for long (the following allocation starts a fresh regular chunk).
 */
#include "base/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CW_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define REDZONE 16
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define REDZONE 0
#endif

#define FIRST_CHUNK ((size_t)4096)
#define MAX_CHUNK ((size_t)1 << 20)

struct cw_arena_chunk {
    struct cw_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    /* data follows, aligned */
    _Alignas(CW_ARENA_ALIGN) char data[];
};

static int grow(struct cw_arena *a, size_t need);

struct cw_arena *cw_arena_new(size_t limit)
{
    struct cw_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->limit = limit ? limit : CW_ARENA_DEFAULT_LIMIT;
    a->next_chunk = FIRST_CHUNK;
    /* Start with one chunk so the inline fast path never sees NULL. */
    if (grow(a, 0) < 0) {
        free(a);
        return NULL;
    }
    return a;
}

static void free_chunks(struct cw_arena_chunk *c, struct cw_arena_chunk *keep)
{
    while (c && c != keep) {
        struct cw_arena_chunk *next = c->next;
        UNPOISON(c->data, c->size);
        free(c);
        c = next;
    }
}

void cw_arena_destroy(struct cw_arena *a)
{
    if (!a) return;
    free_chunks(a->chunks, NULL);
    free(a);
}

void cw_arena_reset(struct cw_arena *a)
{
    /* Keep the largest regular chunk (not a one-off giant): an arena that is
     * reset and reused per item (a FHIRPath evaluation, a message) then stops
     * calling malloc once it has grown to what one item needs, instead of
     * re-allocating (and, for big chunks, re-mapping and re-faulting) the
     * same chunks every time. */
    struct cw_arena_chunk *keep = NULL;
    for (struct cw_arena_chunk *c = a->chunks; c; c = c->next)
        if (c->size <= MAX_CHUNK && (!keep || c->size > keep->size)) keep = c;
    struct cw_arena_chunk *c = a->chunks;
    while (c) {
        struct cw_arena_chunk *next = c->next;
        if (c != keep) {
            UNPOISON(c->data, c->size);
            free(c);
        }
        c = next;
    }
    a->chunks = keep;
    if (keep) {
        keep->next = NULL;
        a->cur = keep->data;
        a->end = keep->data + keep->size;
        POISON(keep->data, keep->size);
    } else {
        a->cur = a->end = NULL;
    }
    a->used = 0;
    a->exceeded = false;
}

static int grow(struct cw_arena *a, size_t need)
{
    size_t size = a->next_chunk;
    if (size < need) size = need;
    if (size > SIZE_MAX - sizeof(struct cw_arena_chunk)) return -1;
    struct cw_arena_chunk *c = malloc(sizeof *c + size);
    if (!c) return -1;
    c->size = size;
    c->next = a->chunks;
    a->chunks = c;
    a->cur = c->data;
    a->end = c->data + size;
    POISON(c->data, size);
    if (a->next_chunk < MAX_CHUNK) a->next_chunk *= 2;
    return 0;
}

void *cw_arena_alloc_slow(struct cw_arena *a, size_t n, size_t align)
{
    if (n > a->limit - a->used) {
        a->exceeded = true;
        return NULL;
    }
    /* Under ASan a zero-size block still owns one byte, so that unpoisoning
     * it never reaches past the chunk. */
    size_t fit = REDZONE && n == 0 ? 1 : n;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (a->cur) {
            uintptr_t p = ((uintptr_t)a->cur + REDZONE + (align - 1)) & ~(uintptr_t)(align - 1);
            if (p <= (uintptr_t)a->end && fit <= (uintptr_t)a->end - p) {
                a->cur = (char *)(p + fit);
                a->used += n;
                UNPOISON((void *)p, fit);
                return (void *)p;
            }
        }
        /* Room for the red zone and worst-case alignment padding. */
        if (n > SIZE_MAX - REDZONE - CW_ARENA_ALIGN || grow(a, n + REDZONE + align) < 0) break;
    }
    a->exceeded = true;
    return NULL;
}

void *cw_arena_zalloc(struct cw_arena *a, size_t n)
{
    void *p = cw_arena_alloc(a, n);
    if (p && n) memset(p, 0, n);
    return p;
}

void *cw_arena_array(struct cw_arena *a, size_t n, size_t sz)
{
    if (sz && n > SIZE_MAX / sz) {
        a->exceeded = true;
        return NULL;
    }
    return cw_arena_alloc(a, n * sz);
}

char *cw_arena_strndup(struct cw_arena *a, const char *p, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *d = cw_arena_alloc_bytes(a, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

cw_slice cw_arena_dup(struct cw_arena *a, cw_slice s)
{
    char *d = cw_arena_strndup(a, s.ptr, s.len);
    return d ? (cw_slice){d, s.len} : CW_SLICE_NULL;
}

char *cw_arena_vprintf(struct cw_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *d = cw_arena_alloc_bytes(a, (size_t)n + 1);
    if (!d) return NULL;
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    return d;
}

char *cw_arena_printf(struct cw_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *d = cw_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return d;
}
