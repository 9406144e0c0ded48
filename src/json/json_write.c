/*
 * json_write.c — serializing trees (cw_json_write) and the streaming writer.
 *
 * Owns: nothing; output goes into the caller's cw_buf, whose maximum bounds
 * it (a full buffer is a sticky failure, see base/buf.h).
 *
 * Spec: RFC 8259 section 7 (strings: '"', '\\' and U+0000..U+001F must be
 * escaped; we escape nothing else, not even '/', and write \b \f \n \r \t
 * in their short forms, other controls as \u00xx with lowercase hex).
 * Numbers are written as their stored text, so parse -> write keeps "1.50".
 *
 * Pretty layout (indent > 0) is the one JSON.stringify(v, null, indent)
 * produces: one member or item per line, "key": value with one space,
 * empty containers as {} and [], no trailing newline.
 *
 * Fast paths: output space is reserved once per string (length + slack) and
 * the body is copied 16 bytes at a time with SSE2 while the same register
 * is checked for bytes that need escaping; trees are walked with an
 * explicit stack, so depth costs heap, not C stack.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_int.h"

static const char hex_digits[] = "0123456789abcdef";

/* Byte -> character after the backslash ('u' for \u00xx), 0 when plain. */
static const uint8_t escape_char[256] = {
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u',  [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u', [0x07] = 'u', [0x08] = 'b', [0x09] = 't',  [0x0A] = 'n', [0x0B] = 'u',
    [0x0C] = 'f', [0x0D] = 'r', [0x0E] = 'u', [0x0F] = 'u',  [0x10] = 'u', [0x11] = 'u',
    [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u',  [0x16] = 'u', [0x17] = 'u',
    [0x18] = 'u', [0x19] = 'u', [0x1A] = 'u', [0x1B] = 'u',  [0x1C] = 'u', [0x1D] = 'u',
    [0x1E] = 'u', [0x1F] = 'u', ['"'] = '"',  ['\\'] = '\\',
};

#define SLACK 16 /* the SSE2 copy may store up to 16 bytes past the used part */

/* Mark the buffer failed (sticky), as a full buffer would be. */
static int buf_fail(struct cw_buf *b)
{
    b->failed = true;
    return -1;
}

int cw_json_escape(struct cw_buf *b, cw_slice str)
{
    if (str.len > SIZE_MAX / 2 || (!str.ptr && str.len)) return buf_fail(b);
    if (!str.ptr) str.ptr = ""; /* NULL + 0 is undefined */
    const char *s = str.ptr, *e = str.ptr + str.len;
    /* Invariant: from o there is room for (e - s) + 1 + SLACK bytes. */
    if (cw_buf_reserve(b, str.len + 2 + SLACK) < 0) return -1;
    char *o = b->ptr + b->len;
    *o++ = '"';
    for (;;) {
#ifdef CW_JSON_SSE2
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        const __m128i c1f = _mm_set1_epi8(0x1F), zero = _mm_setzero_si128();
        while (e - s >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
            _mm_storeu_si128((__m128i *)(void *)o, v);
            /* v <= 0x1F unsigned  <=>  saturating v - 0x1F == 0 */
            __m128i m =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                             _mm_cmpeq_epi8(_mm_subs_epu8(v, c1f), zero));
            unsigned mask = (unsigned)_mm_movemask_epi8(m);
            if (mask) {
                unsigned k = (unsigned)__builtin_ctz(mask);
                s += k;
                o += k;
                break; /* the byte loop below stops on it at once */
            }
            s += 16;
            o += 16;
        }
#endif
        while (s < e && !escape_char[(unsigned char)*s]) *o++ = *s++;
        if (s == e) break;
        b->len = (size_t)(o - b->ptr);
        if (cw_buf_reserve(b, (size_t)(e - s) + 6 + 1 + SLACK) < 0) return -1;
        o = b->ptr + b->len;
        unsigned char c = (unsigned char)*s++;
        char x = (char)escape_char[c];
        *o++ = '\\';
        *o++ = x;
        if (x == 'u') {
            *o++ = '0';
            *o++ = '0';
            *o++ = hex_digits[c >> 4];
            *o++ = hex_digits[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->ptr);
    return 0;
}

static inline int put_raw(struct cw_buf *b, const char *s, size_t n)
{
    if (cw_buf_reserve(b, n) < 0) return -1;
    memcpy(b->ptr + b->len, s, n);
    b->len += n;
    return 0;
}

static inline int put_newline_indent(struct cw_buf *b, size_t spaces)
{
    if (cw_buf_reserve(b, spaces + 1) < 0) return -1;
    char *o = b->ptr + b->len;
    *o = '\n';
    memset(o + 1, ' ', spaces);
    b->len += spaces + 1;
    return 0;
}

/* ---- tree writer ---- */

/*
 * The tree writer keeps its output position in a local pointer o and the
 * end of reserved space in lim, and reserves once per node (room() below)
 * instead of once per byte. b->len is brought up to date before anything
 * that may move the buffer.
 */
static inline bool room(struct cw_buf *b, char **o, char **lim, size_t n)
{
    if (CW_LIKELY((size_t)(*lim - *o) >= n)) return true;
    b->len = (size_t)(*o - b->ptr);
    if (cw_buf_reserve(b, n) < 0) return false;
    *o = b->ptr + b->len;
    *lim = b->ptr + b->cap - 1; /* keep cw_buf's byte for a NUL */
    return true;
}

#define ONES  ((uint64_t)0x0101010101010101ULL)
#define HIGHS ((uint64_t)0x8080808080808080ULL)

/* Nonzero when some byte of x is '"', '\\' or below 0x20 (exact for "any"). */
static inline uint64_t swar_needs_escape(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), bs = x ^ (ONES * '\\');
    uint64_t lt = (x - ONES * 0x20) & ~x;
    uint64_t zq = (q - ONES) & ~q, zb = (bs - ONES) & ~bs;
    return (lt | zq | zb) & HIGHS;
}

/*
 * Copy n bytes s -> o (exactly [o, o+n) is written) and report whether none
 * of them needs escaping. Overlapping loads cover every length without a
 * byte loop or any read outside [s, s+n).
 */
static inline bool copy_plain(char *o, const char *s, size_t n)
{
#ifdef CW_JSON_SSE2
    if (n >= 16) {
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        const __m128i c1f = _mm_set1_epi8(0x1F), zero = _mm_setzero_si128();
        __m128i acc = zero;
        size_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            _mm_storeu_si128((__m128i *)(void *)(o + i), v);
            acc = _mm_or_si128(
                acc, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                  _mm_cmpeq_epi8(_mm_subs_epu8(v, c1f), zero)));
        }
        if (i < n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
            _mm_storeu_si128((__m128i *)(void *)(o + n - 16), v);
            acc = _mm_or_si128(
                acc, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                  _mm_cmpeq_epi8(_mm_subs_epu8(v, c1f), zero)));
        }
        return _mm_movemask_epi8(acc) == 0;
    }
#else
    if (n >= 16) {
        uint64_t bad = 0, x;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            memcpy(&x, s + i, 8);
            memcpy(o + i, &x, 8);
            bad |= swar_needs_escape(x);
        }
        if (i < n) {
            memcpy(&x, s + n - 8, 8);
            memcpy(o + n - 8, &x, 8);
            bad |= swar_needs_escape(x);
        }
        return bad == 0;
    }
#endif
    if (n >= 8) {
        uint64_t x, y;
        memcpy(&x, s, 8);
        memcpy(&y, s + n - 8, 8);
        memcpy(o, &x, 8);
        memcpy(o + n - 8, &y, 8);
        return (swar_needs_escape(x) | swar_needs_escape(y)) == 0;
    }
    if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        memcpy(o, &x, 4);
        memcpy(o + n - 4, &y, 4);
        /* Widen to 64 bits with bytes that never need escaping ('a'). */
        uint64_t fill = ONES * 'a' & ~(uint64_t)0xFFFFFFFF;
        return (swar_needs_escape(fill | x) | swar_needs_escape(fill | y)) == 0;
    }
    bool plain = true;
    for (size_t i = 0; i < n; i++) {
        o[i] = s[i];
        plain &= !escape_char[(unsigned char)s[i]];
    }
    return plain;
}

/* Copy n bytes (number text): overlapping moves for short ones. */
static inline void copy_short(char *o, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t x, y;
        memcpy(&x, s, 8);
        memcpy(&y, s + n - 8, 8);
        memcpy(o, &x, 8);
        memcpy(o + n - 8, &y, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        memcpy(o, &x, 4);
        memcpy(o + n - 4, &y, 4);
    } else {
        memcpy(o, s, n);
    }
}

/*
 * A quoted string at o (room for n + 2 bytes already reserved). Strings
 * that need escaping are redone by cw_json_escape from the opening quote.
 */
static inline bool put_string(struct cw_buf *b, char **o, char **lim, const char *s, size_t n)
{
    char *q = *o;
    *q = '"';
    if (CW_LIKELY(copy_plain(q + 1, s, n))) {
        q[n + 1] = '"';
        *o = q + n + 2;
        return true;
    }
    b->len = (size_t)(q - b->ptr);
    if (cw_json_escape(b, (cw_slice){s, n}) < 0) return false;
    *o = b->ptr + b->len;
    *lim = b->ptr + b->cap - 1;
    return true;
}

/*
 * Prefetch the block of container v (its items or members), every cache
 * line of it up to 512 bytes, so the misses of a cold block overlap
 * instead of being taken one line at a time.
 */
static inline void prefetch_block(const struct cw_json *v)
{
    size_t bytes = (size_t)v->len * (v->type == CW_JSON_OBJECT ? 32 : 16);
    if (bytes > 512) bytes = 512;
    const char *p = (const char *)v->u.items;
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

struct wframe {
    const struct cw_json *c; /* open container */
    uint32_t i;              /* next child */
};

/* Literal text padded to 8 bytes, stored with one move. */
static const char lit_null[8] = "null", lit_true[8] = "true", lit_false[8] = "false";

/*
 * Write v; indent 0 is compact. base is the nesting level v sits at (for
 * pretty output inside a streaming writer). Always inlined into two
 * callers, so the compact variant is compiled without the pretty branches.
 */
static inline __attribute__((always_inline)) int
write_tree_impl(struct cw_buf *b, const struct cw_json *v, const size_t indent, size_t base)
{
    struct wframe inline_stack[64];
    struct wframe *st = inline_stack;
    size_t cap = 64, depth = 0;
    char *o, *lim;
    int rc = 0;

    if (!v) return buf_fail(b);
    if (cw_buf_reserve(b, 64) < 0) return -1;
    o = b->ptr + b->len;
    lim = b->ptr + b->cap - 1;

    const struct cw_json *x = v; /* the value to write next */
    for (;;) {
        /* Write x: a scalar, an empty container, or the opening of one. */
        switch (x->type) {
        case CW_JSON_STRING:
            if (!room(b, &o, &lim, (size_t)x->len + 2)) goto fail;
            if (!put_string(b, &o, &lim, x->u.str, x->len)) goto fail;
            break;
        case CW_JSON_NUMBER:
            if (CW_UNLIKELY(x->len == 0 || !x->u.str)) goto invalid;
            if (!room(b, &o, &lim, x->len)) goto fail;
            copy_short(o, x->u.str, x->len);
            o += x->len;
            break;
        case CW_JSON_NULL:
            if (!room(b, &o, &lim, 8)) goto fail;
            memcpy(o, lit_null, 8);
            o += 4;
            break;
        case CW_JSON_TRUE:
            if (!room(b, &o, &lim, 8)) goto fail;
            memcpy(o, lit_true, 8);
            o += 4;
            break;
        case CW_JSON_FALSE:
            if (!room(b, &o, &lim, 8)) goto fail;
            memcpy(o, lit_false, 8);
            o += 5;
            break;
        case CW_JSON_ARRAY:
        case CW_JSON_OBJECT: {
            bool obj = x->type == CW_JSON_OBJECT;
            if (!room(b, &o, &lim, 2)) goto fail;
            *o++ = obj ? '{' : '[';
            if (x->len == 0) {
                *o++ = obj ? '}' : ']';
                break;
            }
            if (depth == cap) {
                struct wframe *ns;
                if (st == inline_stack) {
                    ns = malloc(cap * 2 * sizeof *ns);
                    if (ns) memcpy(ns, st, cap * sizeof *ns);
                } else {
                    ns = realloc(st, cap * 2 * sizeof *ns);
                }
                if (!ns) goto invalid;
                st = ns;
                cap *= 2;
            }
            st[depth++] = (struct wframe){x, 0};
            break;
        }
        default:
            goto invalid;
        }

        /* Find the next value: the next child of the innermost open
           container, closing every container that is complete. */
        for (;;) {
            if (depth == 0) goto done;
            struct wframe *f = &st[depth - 1];
            const struct cw_json *c = f->c;
            size_t pad = indent ? 1 + (base + depth) * indent : 0;
            if (f->i == c->len) {
                depth--;
                if (!room(b, &o, &lim, pad + 1)) goto fail;
                if (indent) {
                    *o++ = '\n';
                    memset(o, ' ', pad - 1 - indent);
                    o += pad - 1 - indent;
                }
                *o++ = c->type == CW_JSON_OBJECT ? '}' : ']';
                continue;
            }
            uint32_t i = f->i++;
            if (c->type == CW_JSON_OBJECT) {
                const struct cw_json_member *m = &c->u.members[i];
                /* Children blocks are cold: fetch the next sibling's while
                   this member is written. */
                if (i + 1 < c->len && m[1].value.type >= CW_JSON_ARRAY) prefetch_block(&m[1].value);
                if (!room(b, &o, &lim, m->key.len + pad + 5)) goto fail;
                if (i) *o++ = ',';
                if (indent) {
                    *o++ = '\n';
                    memset(o, ' ', pad - 1);
                    o += pad - 1;
                }
                if (!put_string(b, &o, &lim, m->key.ptr, m->key.len)) goto fail;
                *o++ = ':';
                if (indent) *o++ = ' ';
                x = &m->value;
            } else {
                if (!room(b, &o, &lim, pad + 1)) goto fail;
                if (i) *o++ = ',';
                if (indent) {
                    *o++ = '\n';
                    memset(o, ' ', pad - 1);
                    o += pad - 1;
                }
                x = &c->u.items[i];
                if (i + 1 < c->len && x[1].type >= CW_JSON_ARRAY) prefetch_block(&x[1]);
            }
            break;
        }
    }
invalid:
    b->len = (size_t)(o - b->ptr);
    buf_fail(b);
fail:
    rc = -1;
    goto out;
done:
    b->len = (size_t)(o - b->ptr);
out:
    if (st != inline_stack) free(st);
    return rc;
}

static int write_compact(struct cw_buf *b, const struct cw_json *v)
{
    return write_tree_impl(b, v, 0, 0);
}

static int write_pretty(struct cw_buf *b, const struct cw_json *v, size_t indent, size_t base)
{
    return write_tree_impl(b, v, indent, base);
}

static int write_tree(struct cw_buf *b, const struct cw_json *v, size_t indent, size_t base)
{
    if (b->failed) return -1;
    return indent ? write_pretty(b, v, indent, base) : write_compact(b, v);
}

int cw_json_write(struct cw_buf *out, const struct cw_json *v, int indent)
{
    if (out->failed) return -1;
    return write_tree(out, v, indent > 0 ? (size_t)indent : 0, 0);
}

/* ---- streaming writer ---- */

/* count[] bits: CNT_NONEMPTY once a member/item was written, CNT_OBJECT for objects. */
#define CNT_NONEMPTY 1
#define CNT_OBJECT   2

void cw_json_writer_init(struct cw_json_writer *w, struct cw_buf *out, int indent)
{
    w->out = out;
    w->indent = indent > 0 ? indent : 0;
    w->depth = 0;
    w->after_key = false;
}

/*
 * The innermost container's count byte, or NULL at top level or beyond
 * CW_JSON_WRITER_MAX_DEPTH (where the output has already been failed and
 * depth is still counted so begin/end keep pairing up).
 */
static uint8_t *cur_count(struct cw_json_writer *w)
{
    if (w->depth == 0 || w->depth > CW_JSON_WRITER_MAX_DEPTH) return NULL;
    return &w->count[w->depth - 1];
}

/* Separator and line break before an array item or a top-level value. */
static void before_value(struct cw_json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    uint8_t *cnt = cur_count(w);
    if (!cnt) return;
    assert(!(*cnt & CNT_OBJECT) && "value in an object needs cw_json_key first");
    if (*cnt & CNT_NONEMPTY) cw_buf_putc(w->out, ',');
    *cnt |= CNT_NONEMPTY;
    if (w->indent) put_newline_indent(w->out, (size_t)w->depth * (size_t)w->indent);
}

static void begin(struct cw_json_writer *w, char open, uint8_t kind)
{
    before_value(w);
    cw_buf_putc(w->out, open);
    if (w->depth >= CW_JSON_WRITER_MAX_DEPTH)
        buf_fail(w->out); /* too deep to track */
    else
        w->count[w->depth] = kind;
    w->depth++;
}

static void end(struct cw_json_writer *w, char close, uint8_t kind)
{
    assert(w->depth > 0 && "end without begin");
    assert(!w->after_key && "key without value");
    if (w->depth == 0) return;
    uint8_t *cnt = cur_count(w);
    uint8_t c = cnt ? *cnt : (uint8_t)(kind | CNT_NONEMPTY);
    assert((c & CNT_OBJECT) == kind && "mismatched end");
    (void)kind;
    w->depth--;
    if ((c & CNT_NONEMPTY) && w->indent)
        put_newline_indent(w->out, (size_t)w->depth * (size_t)w->indent);
    cw_buf_putc(w->out, close);
}

void cw_json_begin_object(struct cw_json_writer *w)
{
    begin(w, '{', CNT_OBJECT);
}

void cw_json_end_object(struct cw_json_writer *w)
{
    end(w, '}', CNT_OBJECT);
}

void cw_json_begin_array(struct cw_json_writer *w)
{
    begin(w, '[', 0);
}

void cw_json_end_array(struct cw_json_writer *w)
{
    end(w, ']', 0);
}

void cw_json_key(struct cw_json_writer *w, cw_slice key)
{
    assert(w->depth > 0 && "key outside an object");
    assert(!w->after_key && "two keys in a row");
    if (w->depth == 0) return;
    uint8_t *cnt = cur_count(w);
    assert((!cnt || (*cnt & CNT_OBJECT)) && "key outside an object");
    if (cnt) {
        if (*cnt & CNT_NONEMPTY) cw_buf_putc(w->out, ',');
        *cnt |= CNT_NONEMPTY;
    }
    if (w->indent) put_newline_indent(w->out, (size_t)w->depth * (size_t)w->indent);
    cw_json_escape(w->out, key);
    put_raw(w->out, ": ", w->indent ? 2 : 1);
    w->after_key = true;
}

void cw_json_string_value(struct cw_json_writer *w, cw_slice s)
{
    before_value(w);
    cw_json_escape(w->out, s);
}

void cw_json_number_value(struct cw_json_writer *w, cw_slice text)
{
    before_value(w);
    if (text.len == 0 || !text.ptr) {
        buf_fail(w->out);
        return;
    }
    put_raw(w->out, text.ptr, text.len);
}

void cw_json_int_value(struct cw_json_writer *w, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    before_value(w);
    put_raw(w->out, tmp, (size_t)n);
}

void cw_json_bool_value(struct cw_json_writer *w, bool b)
{
    before_value(w);
    if (b)
        put_raw(w->out, "true", 4);
    else
        put_raw(w->out, "false", 5);
}

void cw_json_null_value(struct cw_json_writer *w)
{
    before_value(w);
    put_raw(w->out, "null", 4);
}

void cw_json_value(struct cw_json_writer *w, const struct cw_json *v)
{
    before_value(w);
    write_tree(w->out, v, (size_t)w->indent, w->depth);
}
