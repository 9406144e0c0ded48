/*
 * vec.h — a typed growable array, heap- or arena-backed, with a maximum.
 *
 *   typedef CW_VEC(cw_slice) cw_slice_vec;     // declare the type once
 *   cw_slice_vec v;
 *   cw_vec_init(&v, arena, 0);                 // arena NULL = heap
 *   if (cw_vec_push(&v, item) < 0) ...         // -1: over max or out of memory
 *   for (size_t i = 0; i < v.len; i++) use(v.ptr[i]);
 *   cw_vec_release(&v);                        // frees heap storage
 *
 * Storage: with an arena, growth allocates a new block from the arena and
 * copies (the old block stays in the arena until it is destroyed; doubling
 * keeps the waste below the final size); cw_vec_release only forgets it.
 * With no arena the storage is heap memory owned by the vector.
 *
 * Limits: 'max' elements (CW_VEC_DEFAULT_MAX when 0) — a push past it fails
 * and leaves the vector unchanged. Failures return -1 (no cw_err: the
 * caller knows which input was too large and reports it).
 *
 * Pointers into ptr are invalidated by any growth. The macros evaluate
 * their vector argument more than once: pass a plain variable or pointer.
 * The grow helper stores the new pointer through the address of v->ptr,
 * relying on all object pointers sharing one representation (true on every
 * platform we build for; POSIX requires it).
 *
 * Thread safety: none; a vector belongs to one thread at a time.
 */
#ifndef CW_BASE_VEC_H
#define CW_BASE_VEC_H

#include <stddef.h>
#include <string.h>

#include "base/arena.h"

/* Default element ceiling: 16 Mi elements. */
#define CW_VEC_DEFAULT_MAX ((size_t)1 << 24)

/* The vector type for element type T (use in a typedef). */
#define CW_VEC(T)                                                                                  \
    struct {                                                                                       \
        T *ptr;                                                                                    \
        size_t len;                                                                                \
        size_t cap;                                                                                \
        size_t max;                                                                                \
        struct cw_arena *arena;                                                                    \
    }

/* Empty vector: storage from arena_ (NULL = heap), at most max_ elements. */
#define cw_vec_init(v, arena_, max_)                                                               \
    ((v)->ptr = NULL, (v)->len = 0, (v)->cap = 0,                                                  \
     (v)->max = (max_) ? (size_t)(max_) : CW_VEC_DEFAULT_MAX, (v)->arena = (arena_))

/* Slow path of cw_vec_reserve: make room for 'add' more elements. */
int cw_vec_grow_(void *ptr_field, size_t *cap, size_t len, size_t add, size_t elem, size_t max,
                 struct cw_arena *arena);

static inline int cw_vec_has_room_(size_t cap, size_t len, size_t n)
{
    return n <= cap - len;
}

/* Room for n more elements without further growth: 0 or -1. */
#define cw_vec_reserve(v, n)                                                                       \
    (cw_vec_has_room_((v)->cap, (v)->len, (size_t)(n))                                             \
         ? 0                                                                                       \
         : cw_vec_grow_(&(v)->ptr, &(v)->cap, (v)->len, (size_t)(n), sizeof *(v)->ptr, (v)->max,    \
                        (v)->arena))

/* Append x: 0, or -1 (vector unchanged). */
#define cw_vec_push(v, x) (cw_vec_reserve((v), 1) < 0 ? -1 : ((v)->ptr[(v)->len++] = (x), 0))

/* Append one zero-filled element and return a pointer to it, or NULL. */
#define cw_vec_add(v)                                                                              \
    (cw_vec_reserve((v), 1) < 0 ? NULL : memset(&(v)->ptr[(v)->len++], 0, sizeof *(v)->ptr))

/* Append n elements copied from src (same element type): 0 or -1. */
#define cw_vec_append(v, src, n)                                                                   \
    ((size_t)(n) == 0                                                                              \
         ? 0                                                                                       \
         : cw_vec_reserve((v), (n)) < 0                                                            \
               ? -1                                                                                \
               : (memcpy(&(v)->ptr[(v)->len], (src), (size_t)(n) * sizeof *(v)->ptr),             \
                  (v)->len += (size_t)(n), 0))

/* The last element (the vector must not be empty). */
#define cw_vec_last(v) ((v)->ptr[(v)->len - 1])

/* Remove and yield the last element (the vector must not be empty). */
#define cw_vec_pop(v) ((v)->ptr[--(v)->len])

/* Forget the elements, keep the storage. */
#define cw_vec_clear(v) ((void)((v)->len = 0))

/* Free heap storage (arena storage is left to the arena); empty afterwards. */
void cw_vec_release_(void *ptr_field, struct cw_arena *arena);
#define cw_vec_release(v)                                                                          \
    (cw_vec_release_(&(v)->ptr, (v)->arena), (v)->len = 0, (v)->cap = 0)

#endif
