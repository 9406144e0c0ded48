/*
 * vec.c — growth for vec.h. ptr_field is the address of the vector's
 * element pointer; it is read and written with memcpy so one function
 * serves every element type.
 */
#include "base/vec.h"

#include <stdint.h>
#include <stdlib.h>

int cw_vec_grow_(void *ptr_field, size_t *cap, size_t len, size_t add, size_t elem, size_t max,
                 struct cw_arena *arena)
{
    if (add > max || len > max - add) return -1;
    size_t need = len + add;
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > max) ncap = max;
    if (elem && ncap > SIZE_MAX / elem) return -1;
    void *old;
    memcpy(&old, ptr_field, sizeof old);
    void *p;
    if (arena) {
        p = cw_arena_alloc(arena, ncap * elem);
        if (!p) return -1;
        if (len && old) memcpy(p, old, len * elem);
    } else {
        size_t bytes = ncap * elem;
        p = realloc(old, bytes ? bytes : 1);
        if (!p) return -1;
    }
    memcpy(ptr_field, &p, sizeof p);
    *cap = ncap;
    return 0;
}

void cw_vec_release_(void *ptr_field, struct cw_arena *arena)
{
    void *old;
    memcpy(&old, ptr_field, sizeof old);
    if (!arena) free(old);
    old = NULL;
    memcpy(ptr_field, &old, sizeof old);
}
