/*
 * arena.h — region allocator with a byte ceiling.
 *
 * Every request, inbound message or job owns one arena; everything parsed or
 * built for it is allocated here and released together by cw_arena_destroy.
 * There is no per-object free.
 *
 * Invariants:
 *  - Allocations are aligned to CW_ARENA_ALIGN (16) unless they come from
 *    cw_arena_alloc_bytes, which packs byte strings without padding.
 *  - The total bytes handed out never exceed the arena's limit. Going over is
 *    not an abort: the allocation returns NULL and cw_arena_exceeded() turns
 *    true, so the caller can answer "too costly" / 413 instead of crashing.
 *  - Under AddressSanitizer, the unused tail of each chunk is poisoned and
 *    allocations are separated by red zones, so overruns are caught.
 *
 * Thread safety: an arena belongs to one thread at a time.
 */
#ifndef CW_BASE_ARENA_H
#define CW_BASE_ARENA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

#define CW_ARENA_ALIGN 16
/* Default ceiling when cw_arena_new(0) is called: 256 MiB. */
#define CW_ARENA_DEFAULT_LIMIT ((size_t)256 << 20)

#if defined(__SANITIZE_ADDRESS__)
#define CW_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CW_ARENA_ASAN 1
#endif
#endif

struct cw_arena_chunk;

/* Fields are private; they are visible only so the fast path can inline. */
struct cw_arena {
    char *cur;                    /* next free byte in the current chunk */
    char *end;                    /* end of the current chunk */
    struct cw_arena_chunk *chunks; /* newest first */
    size_t used;                  /* bytes handed out, counted against limit */
    size_t limit;                 /* ceiling on 'used' */
    size_t next_chunk;            /* size of the next chunk to allocate */
    bool exceeded;                /* an allocation failed on the ceiling/OOM */
};

/*
 * Create an arena whose allocations may total at most 'limit' bytes
 * (0 = CW_ARENA_DEFAULT_LIMIT). Returns NULL when out of memory.
 * Free it with cw_arena_destroy.
 */
struct cw_arena *cw_arena_new(size_t limit);

/* Release the arena and everything allocated from it. NULL is a no-op. */
void cw_arena_destroy(struct cw_arena *a);

/* Forget every allocation; keep the largest regular chunk (at most 1 MiB)
   for reuse, so an arena reset per item stops allocating once warm. */
void cw_arena_reset(struct cw_arena *a);

/* Slow path of the allocators below; do not call directly. */
void *cw_arena_alloc_slow(struct cw_arena *a, size_t n, size_t align);

/*
 * n bytes aligned to CW_ARENA_ALIGN, uninitialized. Returns NULL (and marks
 * the arena exceeded) when the ceiling would be crossed or memory is out.
 * n == 0 returns a valid unique pointer.
 */
static inline void *cw_arena_alloc(struct cw_arena *a, size_t n)
{
#ifndef CW_ARENA_ASAN
    uintptr_t p = ((uintptr_t)a->cur + (CW_ARENA_ALIGN - 1)) & ~(uintptr_t)(CW_ARENA_ALIGN - 1);
    if (p <= (uintptr_t)a->end && n <= (size_t)((uintptr_t)a->end - p) &&
        n <= a->limit - a->used) {
        a->cur = (char *)(p + n);
        a->used += n;
        return (void *)p;
    }
#endif
    return cw_arena_alloc_slow(a, n, CW_ARENA_ALIGN);
}

/* n bytes with no alignment (for strings); same failure rules. */
static inline char *cw_arena_alloc_bytes(struct cw_arena *a, size_t n)
{
#ifndef CW_ARENA_ASAN
    if (n <= (size_t)(a->end - a->cur) && n <= a->limit - a->used) {
        char *p = a->cur;
        a->cur += n;
        a->used += n;
        return p;
    }
#endif
    return cw_arena_alloc_slow(a, n, 1);
}

/* Zero-filled cw_arena_alloc. */
void *cw_arena_zalloc(struct cw_arena *a, size_t n);

/* Array of n elements of size sz (overflow-checked), uninitialized. */
void *cw_arena_array(struct cw_arena *a, size_t n, size_t sz);

/* Copy of [p, p+n) followed by a NUL byte; NULL on failure. */
char *cw_arena_strndup(struct cw_arena *a, const char *p, size_t n);

/* Copy of a slice into the arena (NUL-terminated); {NULL,0} on failure. */
cw_slice cw_arena_dup(struct cw_arena *a, cw_slice s);

/* printf into the arena; NULL on failure. */
char *cw_arena_printf(struct cw_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *cw_arena_vprintf(struct cw_arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Bytes handed out so far (counted against the limit). */
static inline size_t cw_arena_used(const struct cw_arena *a)
{
    return a->used;
}

/* True once any allocation failed on the ceiling or for lack of memory. */
static inline bool cw_arena_exceeded(const struct cw_arena *a)
{
    return a->exceeded;
}

#endif
