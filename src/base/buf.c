/*
 * buf.c — cw_buf growth and formatted appends.
 *
 * Invariant: when ptr != NULL, cap > len, so one byte is always free for the
 * NUL that cw_buf_cstr writes.
 */
#include "base/buf.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

void cw_buf_init(struct cw_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : CW_BUF_DEFAULT_MAX;
    /* Keep max + 1 (room for the NUL) from wrapping: SIZE_MAX as "no
     * practical limit" would otherwise clamp the capacity to 0. */
    if (b->max > SIZE_MAX - 1) b->max = SIZE_MAX - 1;
    b->failed = false;
}

void cw_buf_release(struct cw_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

int cw_buf_grow(struct cw_buf *b, size_t n)
{
    if (b->failed) return -1;
    if (n < b->cap - b->len) return 0;
    if (n > b->max || b->len > b->max - n) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + n + 1; /* +1 keeps room for a NUL */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1) cap = b->max + 1;
    char *p = realloc(b->ptr, cap);
    if (!p) {
        b->failed = true;
        return -1;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int cw_buf_vprintf(struct cw_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = true;
        return -1;
    }
    if (cw_buf_reserve(b, (size_t)n) < 0) return -1;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cw_buf_printf(struct cw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = cw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

int cw_buf_fill(struct cw_buf *b, char c, size_t n)
{
    if (cw_buf_reserve(b, n) < 0) return -1;
    memset(b->ptr + b->len, c, n);
    b->len += n;
    return 0;
}

const char *cw_buf_cstr(struct cw_buf *b)
{
    if (!b->ptr || b->failed) return "";
    b->ptr[b->len] = '\0';
    return b->ptr;
}

char *cw_buf_detach(struct cw_buf *b, size_t *len)
{
    if (b->failed) return NULL;
    if (!b->ptr && cw_buf_grow(b, 0) < 0) return NULL;
    char *p = b->ptr;
    p[b->len] = '\0';
    if (len) *len = b->len;
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}
