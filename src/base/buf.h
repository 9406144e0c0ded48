/*
 * buf.h — growing byte buffer with a hard maximum.
 *
 * Output (serialized JSON, ACKs, HTTP bodies, log lines) is written into a
 * cw_buf. Every buffer has a maximum size fixed at init; an append that would
 * cross it fails, and so does every later append: the error is sticky, so a
 * writer may append freely and check cw_buf_failed() once at the end.
 *
 * Ownership: the buffer owns 'ptr' (heap) until cw_buf_release or
 * cw_buf_detach. The contents are not NUL-terminated unless cw_buf_cstr is
 * called. Not thread-safe.
 */
#ifndef CW_BASE_BUF_H
#define CW_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base/slice.h"

/* Default maximum when cw_buf_init(b, 0) is called: 1 GiB. */
#define CW_BUF_DEFAULT_MAX ((size_t)1 << 30)

struct cw_buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max;
    bool failed;
};

/* Empty buffer that may grow to 'max' bytes (0 = CW_BUF_DEFAULT_MAX). */
void cw_buf_init(struct cw_buf *b, size_t max);

/* Free the storage; the buffer is empty (and reusable) afterwards. */
void cw_buf_release(struct cw_buf *b);

/* Drop the contents, keep the storage, clear the failed flag. */
static inline void cw_buf_reset(struct cw_buf *b)
{
    b->len = 0;
    b->failed = false;
}

/* Make room for n more bytes (and a NUL). -1 past the maximum or OOM. */
int cw_buf_grow(struct cw_buf *b, size_t n);

static inline int cw_buf_reserve(struct cw_buf *b, size_t n)
{
    if (n < b->cap - b->len && !b->failed) return 0;
    return cw_buf_grow(b, n);
}

static inline int cw_buf_append(struct cw_buf *b, const void *p, size_t n)
{
    if (cw_buf_reserve(b, n) < 0) return -1;
    if (n) memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int cw_buf_putc(struct cw_buf *b, char c)
{
    if (cw_buf_reserve(b, 1) < 0) return -1;
    b->ptr[b->len++] = c;
    return 0;
}

static inline int cw_buf_puts(struct cw_buf *b, const char *s)
{
    return cw_buf_append(b, s, strlen(s));
}

static inline int cw_buf_put_slice(struct cw_buf *b, cw_slice s)
{
    return cw_buf_append(b, s.ptr, s.len);
}

int cw_buf_printf(struct cw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cw_buf_vprintf(struct cw_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Append n copies of byte c. */
int cw_buf_fill(struct cw_buf *b, char c, size_t n);

/* True after any failed append since init/reset. */
static inline bool cw_buf_failed(const struct cw_buf *b)
{
    return b->failed;
}

/* The contents as a slice (borrowed from the buffer). */
static inline cw_slice cw_buf_slice(const struct cw_buf *b)
{
    return (cw_slice){b->ptr, b->len};
}

/*
 * The contents NUL-terminated (borrowed; valid until the next append or
 * release). Never NULL: an empty or failed buffer gives "".
 */
const char *cw_buf_cstr(struct cw_buf *b);

/*
 * Hand the storage to the caller (free() it); the buffer becomes empty.
 * The result is NUL-terminated; *len (if given) receives the length.
 * Returns NULL when the buffer failed or memory is out.
 */
char *cw_buf_detach(struct cw_buf *b, size_t *len);

#endif
