/*
 * json_tree.c — reading, building and comparing cw_json trees.
 *
 * Owns: nothing. Builders allocate container storage in the caller's arena
 * and borrow every string they are given.
 *
 * Growable storage (CW_JSON_F_GROWABLE): a container made by a builder, or
 * one that has been appended to, owns arena storage whose capacity is a
 * function of its length alone: 0 for len 0, else max(4, next power of two
 * >= len). So no capacity field is needed in the 16-byte node: storage is
 * full exactly when len is 0, 4, or a power of two above 4. Parsed
 * containers are exactly sized (flag clear) and are copied on their first
 * append.
 *
 * Invariants: no recursion (deep trees built by code are compared with an
 * explicit stack); no function here reads past a node's len.
 */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_int.h"

/* ---- reading ---- */

const struct cw_json *cw_json_get_slice(const struct cw_json *obj, cw_slice key)
{
    if (!obj || obj->type != CW_JSON_OBJECT) return NULL;
    const struct cw_json_member *m = obj->u.members;
    for (uint32_t i = 0; i < obj->len; i++)
        if (m[i].key.len == key.len &&
            (key.len == 0 || memcmp(m[i].key.ptr, key.ptr, key.len) == 0))
            return &m[i].value;
    return NULL;
}

const struct cw_json *cw_json_get(const struct cw_json *obj, const char *key)
{
    if (!key) return NULL;
    return cw_json_get_slice(obj, cw_slice_cstr(key));
}

const struct cw_json *cw_json_at(const struct cw_json *arr, size_t i)
{
    if (!arr || arr->type != CW_JSON_ARRAY || i >= arr->len) return NULL;
    return &arr->u.items[i];
}

bool cw_json_check_number(cw_slice t)
{
    if (!t.ptr || t.len == 0) return false;
    const char *p = t.ptr, *e = t.ptr + t.len;
    if (*p == '-') p++;
    if (p == e) return false;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9') p++;
    } else {
        return false;
    }
    if (p < e && *p == '.') {
        p++;
        if (p == e || *p < '0' || *p > '9') return false;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p == e || *p < '0' || *p > '9') return false;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    return p == e;
}

int cw_json_to_i64(const struct cw_json *v, long long *out)
{
    if (!v || v->type != CW_JSON_NUMBER || !out) return -1;
    cw_slice t = {v->u.str, v->len};
    /* Only plain integer text: "1.0" and "1e2" are refused (FHIR integer
       syntax is -?([0]|([1-9][0-9]*))). cw_slice_to_i64 also takes '+'. */
    if (t.len == 0 || t.ptr[0] == '+') return -1;
    for (size_t i = 0; i < t.len; i++) {
        char c = t.ptr[i];
        if (c == '.' || c == 'e' || c == 'E') return -1;
    }
    return cw_slice_to_i64(t, out);
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

int cw_json_to_double(const struct cw_json *v, double *out)
{
    if (!v || v->type != CW_JSON_NUMBER || !out || v->len == 0) return -1;
    pthread_once(&c_locale_once, make_c_locale);
    if (!c_locale) return -1;
    /* strtod needs a terminated string; number text is rarely long. */
    char small[64];
    char *buf = small;
    if (v->len >= sizeof small) {
        buf = malloc((size_t)v->len + 1);
        if (!buf) return -1;
    }
    memcpy(buf, v->u.str, v->len);
    buf[v->len] = '\0';
    char *endp;
    errno = 0;
    double d = strtod_l(buf, &endp, c_locale);
    int rc = 0;
    if (endp != buf + v->len)
        rc = -1; /* not JSON number text */
    else if (errno == ERANGE && isinf(d))
        rc = -1; /* beyond double's range */
    if (buf != small) free(buf);
    if (rc == 0) *out = d;
    return rc;
}

/* ---- equality ---- */

struct eq_frame {
    const struct cw_json *a, *b; /* containers being compared */
    uint32_t i;                  /* next child */
};

static bool scalar_eq(const struct cw_json *a, const struct cw_json *b)
{
    if (a->type != b->type) return false;
    if (a->type == CW_JSON_STRING || a->type == CW_JSON_NUMBER)
        return a->len == b->len && (a->len == 0 || memcmp(a->u.str, b->u.str, a->len) == 0);
    if (a->type == CW_JSON_ARRAY || a->type == CW_JSON_OBJECT) return a->len == b->len;
    return true;
}

bool cw_json_equal(const struct cw_json *a, const struct cw_json *b)
{
    if (!a || !b) return a == b;
    if (!scalar_eq(a, b)) return false;
    if ((a->type != CW_JSON_ARRAY && a->type != CW_JSON_OBJECT) || a->len == 0) return true;

    struct eq_frame inline_stack[64];
    struct eq_frame *st = inline_stack;
    size_t cap = 64, depth = 0;
    bool result = true;
    st[depth++] = (struct eq_frame){a, b, 0};
    while (depth) {
        struct eq_frame *f = &st[depth - 1];
        if (f->i == f->a->len) {
            depth--;
            continue;
        }
        uint32_t i = f->i++;
        const struct cw_json *x, *y;
        if (f->a->type == CW_JSON_OBJECT) {
            const struct cw_json_member *ma = &f->a->u.members[i], *mb = &f->b->u.members[i];
            if (!cw_slice_eq(ma->key, mb->key)) {
                result = false;
                break;
            }
            x = &ma->value;
            y = &mb->value;
        } else {
            x = &f->a->u.items[i];
            y = &f->b->u.items[i];
        }
        if (!scalar_eq(x, y)) {
            result = false;
            break;
        }
        if ((x->type == CW_JSON_ARRAY || x->type == CW_JSON_OBJECT) && x->len) {
            if (depth == cap) {
                struct eq_frame *ns;
                if (st == inline_stack) {
                    ns = malloc(cap * 2 * sizeof *ns);
                    if (ns) memcpy(ns, st, cap * sizeof *ns);
                } else {
                    ns = realloc(st, cap * 2 * sizeof *ns);
                }
                if (!ns) {
                    result = false; /* cannot tell: answer "not equal" */
                    break;
                }
                st = ns;
                cap *= 2;
            }
            st[depth++] = (struct eq_frame){x, y, 0};
        }
    }
    if (st != inline_stack) free(st);
    return result;
}

/* ---- building ---- */

struct cw_json cw_json_null(void)
{
    return (struct cw_json){.type = CW_JSON_NULL};
}

struct cw_json cw_json_bool(bool b)
{
    return (struct cw_json){.type = b ? CW_JSON_TRUE : CW_JSON_FALSE};
}

struct cw_json cw_json_string(cw_slice s)
{
    return (struct cw_json){.type = CW_JSON_STRING, .len = (uint32_t)s.len, .u.str = s.ptr};
}

struct cw_json cw_json_number_text(cw_slice text)
{
    return (struct cw_json){.type = CW_JSON_NUMBER, .len = (uint32_t)text.len, .u.str = text.ptr};
}

struct cw_json cw_json_number_i64(struct cw_arena *a, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    char *d = n > 0 ? cw_arena_alloc_bytes(a, (size_t)n) : NULL;
    if (!d) return cw_json_null();
    memcpy(d, tmp, (size_t)n);
    return (struct cw_json){.type = CW_JSON_NUMBER, .len = (uint32_t)n, .u.str = d};
}

struct cw_json cw_json_array(void)
{
    return (struct cw_json){.type = CW_JSON_ARRAY, .flags = CW_JSON_F_GROWABLE};
}

struct cw_json cw_json_object(void)
{
    return (struct cw_json){.type = CW_JSON_OBJECT, .flags = CW_JSON_F_GROWABLE};
}

/* Capacity of growable storage holding len elements (see file comment). */
static uint32_t growable_cap(uint32_t len)
{
    if (len == 0) return 0;
    uint32_t c = 4;
    while (c < len) c *= 2;
    return c;
}

/*
 * Make room for one more element of elem_size bytes in c's storage and
 * return its address (c->len is not changed), or NULL.
 */
static void *room_for_one(struct cw_arena *a, struct cw_json *c, size_t elem_size)
{
    uint32_t len = c->len;
    if (len == UINT32_MAX) return NULL;
    bool growable = (c->flags & CW_JSON_F_GROWABLE) != 0;
    char *base = (char *)c->u.items;
    c->flags &= (uint8_t)~CW_JSON_F_NOEXT; /* the new key is not known yet */
    if (growable && len < growable_cap(len)) return base + (size_t)len * elem_size;
    uint32_t cap = growable_cap(len + 1);
    char *nb = cw_arena_array(a, cap, elem_size);
    if (!nb) return NULL;
    if (len) memcpy(nb, base, (size_t)len * elem_size);
    c->u.items = (struct cw_json *)(void *)nb;
    c->flags |= CW_JSON_F_GROWABLE;
    return nb + (size_t)len * elem_size;
}

struct cw_json *cw_json_append(struct cw_arena *a, struct cw_json *arr, struct cw_json item)
{
    if (!a || !arr || arr->type != CW_JSON_ARRAY) return NULL;
    struct cw_json *slot = room_for_one(a, arr, sizeof *slot);
    if (!slot) return NULL;
    *slot = item;
    arr->len++;
    return slot;
}

struct cw_json *cw_json_set(struct cw_arena *a, struct cw_json *obj, cw_slice key,
                            struct cw_json value)
{
    if (!a || !obj || obj->type != CW_JSON_OBJECT) return NULL;
    struct cw_json_member *m = obj->u.members;
    for (uint32_t i = 0; i < obj->len; i++)
        if (cw_slice_eq(m[i].key, key)) {
            m[i].value = value;
            return &m[i].value;
        }
    struct cw_json_member *slot = room_for_one(a, obj, sizeof *slot);
    if (!slot) return NULL;
    slot->key = key;
    slot->value = value;
    obj->len++;
    return &slot->value;
}
