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
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u', [0x07] = 'u', [0x08] = 'b', [0x09] = 't', [0x0A] = 'n', [0x0B] = 'u',
    [0x0C] = 'f', [0x0D] = 'r', [0x0E] = 'u', [0x0F] = 'u', [0x10] = 'u', [0x11] = 'u',
    [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',
    [0x18] = 'u', [0x19] = 'u', [0x1A] = 'u', [0x1B] = 'u', [0x1C] = 'u', [0x1D] = 'u',
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
    const char *s = str.ptr, *e = str.ptr + str.len;
    if (str.len > SIZE_MAX / 2 || (!s && str.len)) return buf_fail(b);
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
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                     _mm_cmpeq_epi8(_mm_subs_epu8(v, c1f), zero));
            unsigned mask = (unsigned)_mm_movemask_epi8(m);
            if (mask) {
                unsigned k = (unsigned)__builtin_ctz(mask);
                s += k;
                o += k;
                goto escape;
            }
            s += 16;
            o += 16;
        }
#endif
        while (s < e && !escape_char[(unsigned char)*s]) *o++ = *s++;
        if (s == e) break;
#ifdef CW_JSON_SSE2
    escape:
#endif
    {
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

/* A scalar, or an empty container. -1 on a full buffer or an invalid node. */
static int put_scalar(struct cw_buf *b, const struct cw_json *v)
{
    switch (v->type) {
    case CW_JSON_NULL: return put_raw(b, "null", 4);
    case CW_JSON_FALSE: return put_raw(b, "false", 5);
    case CW_JSON_TRUE: return put_raw(b, "true", 4);
    case CW_JSON_NUMBER:
        if (v->len == 0 || !v->u.str) return buf_fail(b);
        return put_raw(b, v->u.str, v->len);
    case CW_JSON_STRING: return cw_json_escape(b, (cw_slice){v->u.str, v->len});
    case CW_JSON_ARRAY: return put_raw(b, "[]", 2);
    case CW_JSON_OBJECT: return put_raw(b, "{}", 2);
    default: return buf_fail(b);
    }
}

struct wframe {
    const struct cw_json *c; /* open container */
    uint32_t i;              /* next child */
};

/*
 * Write v with the given indent; base is the nesting level v sits at (for
 * pretty output inside a streaming writer).
 */
static int write_tree(struct cw_buf *b, const struct cw_json *v, size_t indent, size_t base)
{
    if (!v) return buf_fail(b);
    if ((v->type != CW_JSON_ARRAY && v->type != CW_JSON_OBJECT) || v->len == 0)
        return put_scalar(b, v);

    struct wframe inline_stack[64];
    struct wframe *st = inline_stack;
    size_t cap = 64, depth = 0;
    int rc = 0;

    if (cw_buf_putc(b, v->type == CW_JSON_OBJECT ? '{' : '[') < 0) return -1;
    st[depth++] = (struct wframe){v, 0};
    while (depth) {
        struct wframe *f = &st[depth - 1];
        const struct cw_json *c = f->c;
        if (f->i == c->len) {
            depth--;
            if (indent && put_newline_indent(b, (base + depth) * indent) < 0) goto fail;
            if (cw_buf_putc(b, c->type == CW_JSON_OBJECT ? '}' : ']') < 0) goto fail;
            continue;
        }
        uint32_t i = f->i++;
        if (i && cw_buf_putc(b, ',') < 0) goto fail;
        if (indent && put_newline_indent(b, (base + depth) * indent) < 0) goto fail;
        const struct cw_json *x;
        if (c->type == CW_JSON_OBJECT) {
            const struct cw_json_member *m = &c->u.members[i];
            if (cw_json_escape(b, m->key) < 0) goto fail;
            if (put_raw(b, ": ", indent ? 2 : 1) < 0) goto fail;
            x = &m->value;
        } else {
            x = &c->u.items[i];
        }
        if ((x->type == CW_JSON_ARRAY || x->type == CW_JSON_OBJECT) && x->len) {
            if (depth == cap) {
                struct wframe *ns;
                if (st == inline_stack) {
                    ns = malloc(cap * 2 * sizeof *ns);
                    if (ns) memcpy(ns, st, cap * sizeof *ns);
                } else {
                    ns = realloc(st, cap * 2 * sizeof *ns);
                }
                if (!ns) {
                    buf_fail(b);
                    goto fail;
                }
                st = ns;
                cap *= 2;
            }
            if (cw_buf_putc(b, x->type == CW_JSON_OBJECT ? '{' : '[') < 0) goto fail;
            st[depth++] = (struct wframe){x, 0};
        } else if (put_scalar(b, x) < 0) {
            goto fail;
        }
    }
    goto done;
fail:
    rc = -1;
done:
    if (st != inline_stack) free(st);
    return rc;
}

int cw_json_write(struct cw_buf *out, const struct cw_json *v, int indent)
{
    if (out->failed) return -1;
    return write_tree(out, v, indent > 0 ? (size_t)indent : 0, 0);
}

/* ---- streaming writer ---- */

/* count[] bits: CNT_NONEMPTY once a member/item was written, CNT_OBJECT for objects. */
#define CNT_NONEMPTY 1
#define CNT_OBJECT 2

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
    if (w->depth >= CW_JSON_WRITER_MAX_DEPTH) buf_fail(w->out); /* too deep to track */
    else w->count[w->depth] = kind;
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
