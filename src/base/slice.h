/*
 * slice.h — borrowed, length-delimited views of bytes.
 *
 * A cw_slice never owns its bytes and is never assumed to be NUL-terminated.
 * Whoever hands out a slice says what owns the bytes behind it (the input
 * buffer, an arena, a static literal). Slices are small and passed by value.
 */
#ifndef CW_BASE_SLICE_H
#define CW_BASE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cw_slice {
    const char *ptr;
    size_t len;
} cw_slice;

/* A slice of a string literal (compile-time length). */
#define CW_LIT(s) ((cw_slice){(s), sizeof(s) - 1})
/* The empty slice. */
#define CW_SLICE_NULL ((cw_slice){NULL, 0})
/* printf("%.*s", CW_SLICE_FMT(s)) */
#define CW_SLICE_FMT(s) (int)(s).len, (s).ptr

/* A slice over a NUL-terminated C string (NULL gives the empty slice). */
static inline cw_slice cw_slice_cstr(const char *s)
{
    return (cw_slice){s, s ? strlen(s) : 0};
}

static inline cw_slice cw_slice_make(const char *p, size_t n)
{
    return (cw_slice){p, n};
}

/* Equal bytes, for short keys in hot loops: 8 bytes at a time, no libc
   call (memcmp's call costs more than the compare for names this short). */
static inline bool cw_bytes_eq(const char *a, const char *b, size_t n)
{
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return false;
        a += 8;
        b += 8;
        n -= 8;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

static inline bool cw_slice_eq(cw_slice a, cw_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Equal to a NUL-terminated string. */
static inline bool cw_slice_eq_cstr(cw_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

static inline bool cw_slice_starts_with(cw_slice a, cw_slice prefix)
{
    return a.len >= prefix.len && (prefix.len == 0 || memcmp(a.ptr, prefix.ptr, prefix.len) == 0);
}

/* Bytes [from, from+n) of s, clamped to s. */
static inline cw_slice cw_slice_sub(cw_slice s, size_t from, size_t n)
{
    if (from > s.len) from = s.len;
    if (n > s.len - from) n = s.len - from;
    return (cw_slice){s.ptr + from, n};
}

/* Case-insensitive ASCII equality. */
bool cw_slice_eq_nocase(cw_slice a, cw_slice b);

/* Lexicographic byte comparison: <0, 0, >0. */
int cw_slice_cmp(cw_slice a, cw_slice b);

/* s without leading and trailing ASCII whitespace (space, tab, CR, LF). */
cw_slice cw_slice_trim(cw_slice s);

/* Index of the first byte c in s, or -1. */
long cw_slice_index(cw_slice s, char c);

/*
 * Parse a decimal integer that fills the whole slice (optional leading '-' or
 * '+'). Returns 0 and stores it in *out, or -1 on empty input, stray bytes or
 * overflow. The checked replacement for atoi/strtol on slices.
 */
int cw_slice_to_i64(cw_slice s, long long *out);

/* Like cw_slice_to_i64 but unsigned and without a sign. */
int cw_slice_to_u64(cw_slice s, unsigned long long *out);

#endif
