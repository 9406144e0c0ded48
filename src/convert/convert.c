/*
 * convert.c — the v2 -> FHIR mapping engine (interpreter of convert_tables.c).
 *
 * One pass over the segments. For each segment the message map (or the
 * default roles) says which resource types it feeds and how: a new instance
 * (that becomes the "current" one of its type; making one at level L forgets
 * the current instances of deeper levels, which is how v2 groups are
 * followed without a grammar: a new PID starts a new patient group, a new
 * ORC a new order group), a merge into the current instance (PD1, PV2, OBR
 * after ORC, RXA after ORC), or an attachment to the resource of the
 * previous segment (NTE). Each field with data is then run through every
 * segment-map row of those resource types: data type converter, then the
 * FHIR path. Fields with no row, repetitions a single-valued path cannot
 * hold and components a converter does not read go into the report.
 *
 * After the pass: event-driven values (ADT^A03 -> finished), references
 * (link map, resolved through the current instances recorded when each
 * resource was made), the A40 merge links, defaults of required elements,
 * the Provenance targets, and the transaction Bundle.
 *
 * Ids: see convert.h and make_id(). Spec: HL7 v2-to-FHIR IG (message and
 * segment maps); FHIR R4 http.html#transaction (PUT entries), bundle.html
 * (fullUrl), provenance.html.
 *
 * Invariants: instances are addressed by index (the array grows); no
 * pointer into c->inst survives a converter call, which may add secondary
 * resources. Nothing here aborts on bad input; limits are max_resources and
 * the arena ceiling.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_int.h"

/* ---- row index: the segment-map rows of one segment ID, chained ---- */

#define CV_MAX_SEGIDS 96
static struct {
    uint32_t segid[CV_MAX_SEGIDS];
    int16_t head[CV_MAX_SEGIDS];
    size_t n;
    int16_t next[1024];               /* next row with the same segment ID, -1 at the end */
    int16_t fhead[CV_MAX_SEGIDS][64]; /* first row of (segment ID, field < 64) */
    int16_t fnext[1024];              /* next row with the same segment ID and field */
} rows_ix;
static pthread_once_t rows_once = PTHREAD_ONCE_INIT;

static uint32_t pack_id(const char *id)
{
    return (uint32_t)(uint8_t)id[0] << 16 | (uint32_t)(uint8_t)id[1] << 8 | (uint8_t)id[2];
}

static void rows_build(void)
{
    int16_t tail[CV_MAX_SEGIDS];
    static int16_t ftail[CV_MAX_SEGIDS][64];
    memset(rows_ix.fhead, 0xff, sizeof rows_ix.fhead);
    for (size_t i = 0; i < cv_nfields && i < 1024; i++) {
        uint32_t id = pack_id(cv_fields[i].seg);
        size_t k;
        for (k = 0; k < rows_ix.n; k++)
            if (rows_ix.segid[k] == id) break;
        if (k == rows_ix.n) {
            if (k == CV_MAX_SEGIDS) continue;
            rows_ix.segid[k] = id;
            rows_ix.head[k] = -1;
            rows_ix.n++;
        }
        rows_ix.next[i] = -1;
        if (rows_ix.head[k] < 0)
            rows_ix.head[k] = (int16_t)i;
        else
            rows_ix.next[tail[k]] = (int16_t)i;
        tail[k] = (int16_t)i;
        uint8_t f = cv_fields[i].field;
        rows_ix.fnext[i] = -1;
        if (f >= 64) continue; /* found through the segment chain */
        if (rows_ix.fhead[k][f] < 0)
            rows_ix.fhead[k][f] = (int16_t)i;
        else
            rows_ix.fnext[ftail[k][f]] = (int16_t)i;
        ftail[k][f] = (int16_t)i;
    }
}

/* Rows of (segment ID, field f): the first, then rows_next(). */
static int rows_field_first(const char *seg, uint32_t f, bool *by_field)
{
    pthread_once(&rows_once, rows_build);
    uint32_t id = pack_id(seg);
    for (size_t k = 0; k < rows_ix.n; k++)
        if (rows_ix.segid[k] == id) {
            *by_field = f < 64;
            return f < 64 ? rows_ix.fhead[k][f] : rows_ix.head[k];
        }
    *by_field = true;
    return -1;
}

static int rows_next(int j, bool by_field)
{
    return by_field ? rows_ix.fnext[j] : rows_ix.next[j];
}

/* First row of a segment ID (-1 when none); continue with rows_ix.next[]. */
static int rows_first(const char *seg)
{
    pthread_once(&rows_once, rows_build);
    uint32_t id = pack_id(seg);
    for (size_t k = 0; k < rows_ix.n; k++)
        if (rows_ix.segid[k] == id) return rows_ix.head[k];
    return -1;
}

/* ---- report ---- */

void cv_report(struct cv_ctx *c, enum cw_convert_item_kind kind, uint32_t comp, const char *fmt,
               ...)
{
    struct cw_convert_report *r = c->rep;
    if (kind == CW_CONVERT_INVALID_VALUE)
        r->invalid++;
    else if (kind == CW_CONVERT_UNSUPPORTED)
        r->unsupported++;
    else
        r->unmapped++;
    if (r->n >= c->o->max_report) {
        r->dropped++;
        return;
    }
    if (!r->items || (r->n & (r->n - 1)) == 0) {
        /* grow at powers of two */
        uint32_t cap = r->n ? r->n * 2 : 8;
        struct cw_convert_item *ni = cw_arena_array(c->a, cap, sizeof *ni);
        if (!ni) {
            c->failed = true;
            return;
        }
        if (r->n) memcpy(ni, r->items, r->n * sizeof *ni);
        r->items = ni;
    }
    struct cw_convert_item *it = &r->items[r->n++];
    it->kind = kind;
    cw_err_clear(&it->err);
    va_list ap;
    va_start(ap, fmt);
    cw_err_vset(&it->err,
                kind == CW_CONVERT_INVALID_VALUE ? CW_ISSUE_VALUE
                : kind == CW_CONVERT_UNSUPPORTED ? CW_ISSUE_NOT_SUPPORTED
                                                 : CW_ISSUE_INCOMPLETE,
                fmt, ap);
    va_end(ap);
    it->err.severity = kind == CW_CONVERT_INVALID_VALUE ? CW_SEV_ERROR : CW_SEV_WARNING;
    it->err.v2_code = kind == CW_CONVERT_INVALID_VALUE ? CW_V2_DATA_TYPE
                      : kind == CW_CONVERT_UNSUPPORTED ? CW_V2_UNSUPPORTED_EVENT
                                                       : CW_V2_INTERNAL;
    struct cw_hl7v2_path p;
    memset(&p, 0, sizeof p);
    memcpy(p.seg, c->seg_id, 4);
    p.occ = c->seg_occ ? c->seg_occ : 1;
    if (kind != CW_CONVERT_UNMAPPED_SEGMENT && kind != CW_CONVERT_UNSUPPORTED) {
        p.field = c->field;
        p.rep = c->rep_ > 1 || comp ? c->rep_ : 0;
        p.comp = comp;
    }
    char loc[CW_ERR_LOCATION_MAX];
    cw_hl7v2_path_format(&p, loc, sizeof loc);
    cw_err_at(&it->err, loc);
}

int cw_convert_report_write(const struct cw_convert_report *r, struct cw_buf *out)
{
    static const char *kinds[] = {"", "segment", "field", "component", "invalid", "unsupported"};
    for (uint32_t i = 0; i < r->n; i++) {
        const struct cw_convert_item *it = &r->items[i];
        cw_buf_printf(out, "%s\t%s\t%s\n", it->err.location,
                      it->kind >= 1 && it->kind <= 5 ? kinds[it->kind] : "?", it->err.msg);
    }
    cw_buf_printf(out,
                  "# %u unmapped, %u invalid, %u unsupported (%u not listed); segments %u/%u "
                  "mapped, fields %u/%u mapped\n",
                  r->unmapped, r->invalid, r->unsupported, r->dropped, r->segments_mapped,
                  r->segments, r->fields_mapped, r->fields);
    return cw_buf_failed(out) ? -1 : 0;
}

size_t cw_convert_message_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < cv_nmsgmaps; i++) {
        const char *e = cv_msgmaps[i].events;
        while (*e) {
            while (*e == ' ') e++;
            if (*e) n++;
            while (*e && *e != ' ') e++;
        }
    }
    return n;
}

const char *cw_convert_message_at(size_t i)
{
    static char buf[64][8];
    size_t n = 0;
    for (size_t k = 0; k < cv_nmsgmaps; k++) {
        const char *e = cv_msgmaps[k].events;
        while (*e) {
            while (*e == ' ') e++;
            if (!*e) break;
            const char *s = e;
            while (*e && *e != ' ') e++;
            if (n == i && i < 64) {
                snprintf(buf[i], sizeof buf[i], "%s^%.*s", cv_msgmaps[k].type, (int)(e - s), s);
                return buf[i];
            }
            n++;
        }
    }
    return NULL;
}

/* ---- ids ---- */

/* RFC 9562 version 8 (custom) UUID text from two keyed hashes of
   "Type \x1f scope \x1f key". Deterministic across processes and hosts. */
static void make_id(uint8_t res, cw_slice scope, cw_slice key, char out[40])
{
    uint8_t b[16];
    uint64_t h[2];
    const char *t = cv_res_info[res].name;
    size_t tl = strlen(t), n = tl + 1 + scope.len + 1 + key.len;
    char small[512];
    char *buf = n <= sizeof small ? small : malloc(n);
    if (!buf) { /* fall back to hashing parts (still deterministic) */
        h[0] = cw_hash_sip24(key.ptr, key.len, 0x6361757365776179ull, cw_hash_sip24(t, tl, 1, 2));
        h[1] = cw_hash_sip24(scope.ptr, scope.len, 0x7632666869723421ull, h[0]);
    } else {
        memcpy(buf, t, tl);
        buf[tl] = 0x1f;
        if (scope.len) memcpy(buf + tl + 1, scope.ptr, scope.len);
        buf[tl + 1 + scope.len] = 0x1f;
        if (key.len) memcpy(buf + tl + 2 + scope.len, key.ptr, key.len);
        h[0] = cw_hash_sip24(buf, n, 0x6361757365776179ull, 0x2d76322d66686972ull);
        h[1] = cw_hash_sip24(buf, n, 0x7632666869723421ull, 0x636f6e7665727421ull);
        if (buf != small) free(buf);
    }
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(h[0] >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(h[1] >> (56 - 8 * i));
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x80);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = 0;
}

/* ---- instances ---- */

struct cw_json cv_reference(struct cv_ctx *c, int32_t i)
{
    struct cw_json r = cw_json_object();
    if (i < 0 || (uint32_t)i >= c->ninst) return cw_json_null();
    cv_put(c, &r, "reference", cv_str(c->inst[i].ref));
    return r;
}

static int32_t find_id(struct cv_ctx *c, const char *id)
{
    void *v = NULL;
    if (cw_hash_find(&c->ids, cw_slice_cstr(id), &v)) return (int32_t)((uintptr_t)v - 1);
    return -1;
}

/* A new instance with this id (must be unused). -1 on limits / memory. */
static int32_t new_inst(struct cv_ctx *c, uint8_t res, const char *id)
{
    if (c->ninst >= c->o->max_resources) {
        if (!c->failed) {
            cw_err_set(c->err, CW_ISSUE_TOO_COSTLY, "more than %u resources", c->o->max_resources);
            c->err->v2_code = CW_V2_INTERNAL;
        }
        c->failed = true;
        return -1;
    }
    if (c->ninst == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 32;
        struct cv_inst *ni = cw_arena_array(c->a, cap, sizeof *ni);
        if (!ni) {
            c->failed = true;
            return -1;
        }
        if (c->ninst) memcpy(ni, c->inst, c->ninst * sizeof *ni);
        c->inst = ni;
        c->cap = cap;
    }
    int32_t i = (int32_t)c->ninst++;
    struct cv_inst *in = &c->inst[i];
    memset(in, 0, sizeof *in);
    in->res = res;
    in->seg = c->seg_index;
    snprintf(in->src, sizeof in->src, "%s[%u]", c->seg_id, c->seg_occ);
    memcpy(in->id, id, 37);
    memcpy(in->ctx, c->cur, sizeof in->ctx);
    size_t tl = strlen(cv_res_info[res].name);
    char *ref = cw_arena_alloc_bytes(c->a, tl + 38);
    if (ref) {
        memcpy(ref, cv_res_info[res].name, tl);
        ref[tl] = '/';
        memcpy(ref + tl + 1, id, 37);
    }
    in->ref = ref ? ref : "";
    in->obj = cw_json_object();
    if (!ref || cv_put(c, &in->obj, "resourceType", cv_str(cv_res_info[res].name)) != 0 ||
        cv_put(c, &in->obj, "id", cv_str(in->id)) != 0) {
        c->failed = true;
        return -1;
    }
    struct cw_err e;
    if (cw_hash_put(&c->ids, cw_slice_cstr(in->id), (void *)(uintptr_t)(i + 1), NULL, &e) != 0) {
        c->failed = true;
        return -1;
    }
    return i;
}

int32_t cv_secondary(struct cv_ctx *c, uint8_t res, cw_slice scope, cw_slice key,
                     struct cw_json *proto)
{
    char id[40];
    if (!scope.len) scope = c->sender;
    make_id(res, scope, key, id);
    int32_t i = find_id(c, id);
    if (i >= 0) return i;
    i = new_inst(c, res, id);
    if (i < 0) return -1;
    /* secondary resources are traced to the segment that named them first */
    for (uint32_t k = 0; k < proto->len; k++)
        if (!cw_json_set(c->a, &c->inst[i].obj, proto->u.members[k].key,
                         proto->u.members[k].value)) {
            c->failed = true;
            return -1;
        }
    c->inst[i].ctx[res] = -1;
    return i;
}

/* ---- JSON paths ---- */

static struct cw_json *child(struct cv_ctx *c, struct cw_json *obj, cw_slice name,
                             struct cw_json init)
{
    struct cw_json *v = (struct cw_json *)cw_json_get_slice(obj, name);
    if (v) return v;
    if (!cw_json_set(c->a, obj, name, init)) {
        c->failed = true;
        return NULL;
    }
    return (struct cw_json *)cw_json_get_slice(obj, name);
}

static bool same_ref(const struct cw_json *a, const struct cw_json *b)
{
    cw_slice ra = cw_json_text(cw_json_get(a, "reference")),
             rb = cw_json_text(cw_json_get(b, "reference"));
    if (!ra.len || !cw_slice_eq(ra, rb)) return false;
    return a->len == 1 && b->len == 1;
}

static int merge_into(struct cv_ctx *c, struct cw_json *dst, const struct cw_json *src)
{
    for (uint32_t k = 0; k < src->len; k++) {
        const struct cw_json_member *m = &src->u.members[k];
        struct cw_json *ex = (struct cw_json *)cw_json_get_slice(dst, m->key);
        if (ex && ex->type == CW_JSON_ARRAY && m->value.type == CW_JSON_ARRAY) {
            for (uint32_t j = 0; j < m->value.len; j++)
                if (!cw_json_append(c->a, ex, m->value.u.items[j])) {
                    c->failed = true;
                    return -1;
                }
        } else if (!cw_json_set(c->a, dst, m->key, m->value)) {
            c->failed = true;
            return -1;
        }
    }
    return 0;
}

/* Put v at path ("a.b[].c", "x[0].y") under obj. */
static int put_path(struct cv_ctx *c, struct cw_json *obj, const char *path, struct cw_json v,
                    unsigned flags)
{
    const char *p = path;
    for (;;) {
        const char *s = p;
        while (*p && *p != '.' && *p != '[') p++;
        cw_slice name = {s, (size_t)(p - s)};
        int mode = 0; /* 0 plain, 1 append, 2 first */
        if (*p == '[') {
            mode = p[1] == ']' ? 1 : 2;
            while (*p && *p != ']') p++;
            if (*p) p++;
        }
        bool last = *p == 0;
        if (*p == '.') p++;
        if (!obj || obj->type != CW_JSON_OBJECT) return 0;
        if (last) {
            struct cw_json *ex = (struct cw_json *)cw_json_get_slice(obj, name);
            if (mode == 0) {
                if (ex && (flags & CV_F_IFABSENT)) return 0;
                if (ex && ex->type == CW_JSON_OBJECT && v.type == CW_JSON_OBJECT)
                    return merge_into(c, ex, &v);
                if (!cw_json_set(c->a, obj, name, v)) c->failed = true;
                return c->failed ? -1 : 0;
            }
            struct cw_json *arr = child(c, obj, name, cw_json_array());
            if (!arr || arr->type != CW_JSON_ARRAY) return c->failed ? -1 : 0;
            if (mode == 2 && arr->len) {
                if (flags & CV_F_IFABSENT) return 0;
                if (arr->u.items[0].type == CW_JSON_OBJECT && v.type == CW_JSON_OBJECT)
                    return merge_into(c, &arr->u.items[0], &v);
                arr->u.items[0] = v;
                return 0;
            }
            if (v.type == CW_JSON_ARRAY) { /* a converter that gives several elements */
                for (uint32_t k = 0; k < v.len; k++) {
                    bool dup = false;
                    for (uint32_t j = 0; j < arr->len && j < 64 && !dup; j++)
                        dup = cw_json_equal(&arr->u.items[j], &v.u.items[k]);
                    if (!dup && !cw_json_append(c->a, arr, v.u.items[k])) c->failed = true;
                }
                return c->failed ? -1 : 0;
            }
            /* the same value twice (ORC-2 and OBR-2, one Practitioner named twice) once */
            for (uint32_t k = 0; k < arr->len && k < 64; k++)
                if (same_ref(&arr->u.items[k], &v) || cw_json_equal(&arr->u.items[k], &v)) return 0;
            if (!cw_json_append(c->a, arr, v)) c->failed = true;
            return c->failed ? -1 : 0;
        }
        if (mode == 0) {
            obj = child(c, obj, name, cw_json_object());
        } else {
            struct cw_json *arr = child(c, obj, name, cw_json_array());
            if (!arr || arr->type != CW_JSON_ARRAY) return c->failed ? -1 : 0;
            if (mode == 1 || arr->len == 0) {
                if (!cw_json_append(c->a, arr, cw_json_object())) {
                    c->failed = true;
                    return -1;
                }
            }
            obj = mode == 1 ? &arr->u.items[arr->len - 1] : &arr->u.items[0];
        }
        if (!obj) return c->failed ? -1 : 0;
    }
}

static struct cw_json *get_path(struct cw_json *obj, const char *path)
{
    const char *p = path;
    while (obj) {
        const char *s = p;
        while (*p && *p != '.' && *p != '[') p++;
        obj = (struct cw_json *)cw_json_get_slice(obj, (cw_slice){s, (size_t)(p - s)});
        if (*p == '[') {
            obj = (struct cw_json *)cw_json_at(obj, 0);
            while (*p && *p != ']') p++;
            if (*p) p++;
        }
        if (!*p) return obj;
        p++;
    }
    return NULL;
}

/* ---- keys ---- */

static cw_slice field_text(struct cv_ctx *c, const struct cw_hl7v2_node *seg, uint32_t f)
{
    (void)c;
    return cw_hl7v2_text(cw_hl7v2_field(seg, f));
}

static cw_slice join(struct cv_ctx *c, cw_slice a, cw_slice b, cw_slice d)
{
    size_t n = a.len + b.len + d.len + 2;
    char *p = cw_arena_alloc_bytes(c->a, n);
    if (!p) {
        c->failed = true;
        return CW_LIT("");
    }
    size_t o = 0;
    if (a.len) memcpy(p, a.ptr, a.len);
    o += a.len;
    p[o++] = '|';
    if (b.len) memcpy(p + o, b.ptr, b.len);
    o += b.len;
    p[o++] = '|';
    if (d.len) memcpy(p + o, d.ptr, d.len);
    return (cw_slice){p, n};
}

/* Message-local key: only a resend of the same message gives the same id. */
static cw_slice local_key(struct cv_ctx *c)
{
    char *p = cw_arena_printf(c->a, "msg|%.*s|%u", CW_SLICE_FMT(c->control_id), c->seg_index);
    if (!p) c->failed = true;
    return p ? cw_slice_cstr(p) : CW_LIT("");
}

/* First CX with a value in field f: key = value, scope = assigning authority. */
static bool cx_key(struct cv_ctx *c, const struct cw_hl7v2_node *seg, uint32_t f, cw_slice *scope,
                   cw_slice *key)
{
    const struct cw_hl7v2_node *fn = cw_hl7v2_field(seg, f);
    uint32_t n = cw_hl7v2_rep_count(fn);
    for (uint32_t r = 1; r <= n; r++) {
        const struct cw_hl7v2_node *rep = cw_hl7v2_rep(fn, r);
        cw_slice v = cv_comp(c, rep, 1);
        if (!v.len) continue;
        cw_slice uid = cv_sub(c, rep, 4, 2), ns = cv_sub(c, rep, 4, 1);
        *scope = uid.len ? uid : ns;
        *key = v;
        return true;
    }
    return false;
}

static bool ei_key(struct cv_ctx *c, const struct cw_hl7v2_node *seg, uint32_t f, cw_slice *scope,
                   cw_slice *key)
{
    const struct cw_hl7v2_node *rep = cw_hl7v2_rep(cw_hl7v2_field(seg, f), 1);
    cw_slice v = cv_comp(c, rep, 1);
    if (!v.len) return false;
    cw_slice uid = cv_comp(c, rep, 3), ns = cv_comp(c, rep, 2);
    *scope = uid.len ? uid : ns;
    *key = v;
    return true;
}

/* The (scope, key) of a resource made by a segment in role r. */
static void role_key(struct cv_ctx *c, const struct cv_role *r, const struct cw_hl7v2_node *seg,
                     cw_slice *scope, cw_slice *key)
{
    *scope = CW_LIT("");
    *key = CW_LIT("");
    cw_slice id = cw_hl7v2_seg_id(seg);
    switch (r->key) {
    case K_MESSAGE:
        *key = c->control_id.len ? join(c, CW_LIT("msg"), c->control_id, CW_LIT("")) : local_key(c);
        return;
    case K_PATIENT:
        if (cx_key(c, seg, 3, scope, key) || cx_key(c, seg, 2, scope, key) ||
            cx_key(c, seg, 4, scope, key))
            return;
        *key = local_key(c);
        return;
    case K_MRG:
        if (cx_key(c, seg, 1, scope, key) || cx_key(c, seg, 4, scope, key)) return;
        *key = local_key(c);
        return;
    case K_VISIT: {
        if (cx_key(c, seg, 19, scope, key)) return;
        cw_slice adm = field_text(c, seg, 44);
        if (c->patient_key.len && adm.len) {
            *key = join(c, c->patient_key, CW_LIT("visit"), adm);
            return;
        }
        *key = local_key(c);
        return;
    }
    case K_ORDER:
        if (cw_slice_eq(id, CW_LIT("ORC")) || cw_slice_eq(id, CW_LIT("OBR"))) {
            /* the order is the placer's; a report is the filler's (one order may be
               filled as several reports, each with its own filler number) */
            uint32_t f1 = r->res == R_DIAGNOSTICREPORT ? 3 : 2, f2 = f1 == 2 ? 3 : 2;
            if (ei_key(c, seg, f1, scope, key) || ei_key(c, seg, f2, scope, key)) return;
        } else if (cw_slice_eq(id, CW_LIT("RXA")) && c->patient_key.len) {
            *key = join(c, c->patient_key, field_text(c, seg, 3),
                        cv_comp(c, cw_hl7v2_rep(cw_hl7v2_field(seg, 5), 1), 1));
            return;
        }
        if (c->order_key.len) {
            *key = c->order_key;
            return;
        }
        *key = local_key(c);
        return;
    case K_OBX: {
        const struct cw_hl7v2_node *code = cw_hl7v2_rep(cw_hl7v2_field(seg, 3), 1);
        cw_slice base = c->report_key.len    ? c->report_key
                        : c->order_key.len   ? c->order_key
                        : c->patient_key.len ? c->patient_key
                                             : local_key(c);
        *key = join(c, base, join(c, cv_comp(c, code, 1), cv_comp(c, code, 3), CW_LIT("")),
                    field_text(c, seg, 4));
        return;
    }
    case K_SPM: {
        const struct cw_hl7v2_node *rep = cw_hl7v2_rep(cw_hl7v2_field(seg, 2), 1);
        cw_slice v = cv_sub(c, rep, 1, 1);
        if (v.len) {
            cw_slice uid = cv_sub(c, rep, 1, 3), ns = cv_sub(c, rep, 1, 2);
            *scope = uid.len ? uid : ns;
            *key = v;
            return;
        }
        v = cv_sub(c, rep, 2, 1);
        if (v.len) {
            *key = v;
            return;
        }
        cw_slice base = c->order_key.len ? c->order_key : local_key(c);
        *key = join(c, base, CW_LIT("spm"), field_text(c, seg, 1));
        return;
    }
    case K_PATFIELD: {
        cw_slice base = c->patient_key.len ? c->patient_key : local_key(c);
        *key = join(c, join(c, base, id, CW_LIT("")), field_text(c, seg, r->kf[0]),
                    r->kf[1] ? field_text(c, seg, r->kf[1]) : CW_LIT(""));
        return;
    }
    case K_SCH:
        if (ei_key(c, seg, 2, scope, key) || ei_key(c, seg, 1, scope, key)) return;
        *key = local_key(c);
        return;
    case K_TXA:
        if (ei_key(c, seg, 12, scope, key)) return;
        if (field_text(c, seg, 16).len) {
            *key = field_text(c, seg, 16);
            return;
        }
        *key = local_key(c);
        return;
    default:
        *key = local_key(c);
        return;
    }
}

/* ---- roles ---- */

static bool inst_has_seg(const struct cv_inst *in, const char id[4])
{
    for (uint8_t k = 0; k < in->nsegs; k++)
        if (memcmp(in->segs[k], id, 4) == 0) return true;
    return false;
}

static void inst_add_seg(struct cv_inst *in, const char id[4])
{
    if (inst_has_seg(in, id) || in->nsegs >= 6) return;
    memcpy(in->segs[in->nsegs++], id, 4);
}

static void make_current(struct cv_ctx *c, uint8_t res, int32_t i)
{
    uint8_t lv = cv_res_info[res].level;
    if (!lv) return;
    c->cur[res] = i;
    for (int t = 0; t < R_COUNT; t++)
        if (cv_res_info[t].level > lv) c->cur[t] = -1;
    if (lv <= 1) c->order_key = CW_LIT("");
    if (lv <= 3) c->report_key = CW_LIT("");
}

/* The instance a role writes to (-1 when none). */
static int32_t resolve_role(struct cv_ctx *c, const struct cv_role *r,
                            const struct cw_hl7v2_node *seg, const int32_t *prev, uint32_t nprev,
                            uint8_t *res_out)
{
    *res_out = r->res;
    if (r->how == H_ATTACH) {
        for (uint32_t k = 0; k < nprev; k++) {
            uint8_t pr = c->inst[prev[k]].res;
            for (int j = rows_first(c->seg_id); j >= 0; j = rows_ix.next[j])
                if (cv_fields[j].res == pr) {
                    *res_out = pr;
                    return prev[k];
                }
        }
        return -1;
    }
    int32_t cur = c->cur[r->res];
    if ((r->how == H_MERGE && cur >= 0 && !inst_has_seg(&c->inst[cur], c->seg_id)) ||
        (r->how == H_MERGE_ANY && cur >= 0))
        return cur;
    cw_slice scope, key;
    role_key(c, r, seg, &scope, &key);
    if (c->failed) return -1;
    bool own_scope = scope.len > 0;
    if (!own_scope) scope = c->sender;
    char id[40];
    make_id(r->res, scope, key, id);
    int32_t i = find_id(c, id);
    if (r->key == K_OBX) {
        /* the same code and sub-id twice in one order: number the repeats */
        for (unsigned n = 2; i >= 0 && n < 100000; n++) {
            char *k2 = cw_arena_printf(c->a, "%.*s#%u", CW_SLICE_FMT(key), n);
            if (!k2) {
                c->failed = true;
                return -1;
            }
            make_id(r->res, scope, cw_slice_cstr(k2), id);
            i = find_id(c, id);
        }
    }
    if (i < 0) i = new_inst(c, r->res, id);
    if (i < 0) return -1;
    if (r->how != H_SIDE)
        make_current(c, r->res, i);
    else
        c->inst[i].side = true;
    if (r->key == K_PATIENT) c->patient_key = join(c, scope, key, CW_LIT("pat"));
    if (r->key == K_ORDER && cv_res_info[r->res].level == 3)
        c->order_key = join(c, scope, key, CW_LIT("ord"));
    if (r->key == K_ORDER && r->res == R_DIAGNOSTICREPORT)
        c->report_key = join(c, scope, key, CW_LIT("rpt"));
    return i;
}

/* ---- fields ---- */

static bool has_data(const struct cw_hl7v2_node *n)
{
    if (!n || !n->len) return false;
    if (n->len == 2 && n->ptr[0] == '"' && n->ptr[1] == '"') return false; /* "" = null */
    return true;
}

static bool path_repeats(const struct cv_field *row)
{
    if (row->dt == DT_OBX_VALUE || row->dt == DT_IN1_PAYOR) return true;
    return row->path && strstr(row->path, "[]") != NULL && !(row->flags & CV_F_FIRST);
}

/* The FHIR data type names a choice element's JSON key may end with (R4). */
static const char *const choice_suffix[] = {
    "Address",     "Age",          "Annotation",
    "Attachment",  "Base64Binary", "Boolean",
    "Canonical",   "Code",         "CodeableConcept",
    "Coding",      "ContactPoint", "Count",
    "Date",        "DateTime",     "Decimal",
    "Distance",    "Duration",     "HumanName",
    "Id",          "Identifier",   "Instant",
    "Integer",     "Markdown",     "Money",
    "Oid",         "Period",       "PositiveInt",
    "Quantity",    "Range",        "Ratio",
    "Reference",   "SampledData",  "Signature",
    "String",      "Time",         "Timing",
    "UnsignedInt", "Uri",          "Url",
    "Uuid",        "Expression",   "ContactDetail",
};

/* Length of the choice base of key ("collected" of "collectedPeriod"), 0 if none. */
static size_t choice_base(cw_slice key)
{
    /* Every suffix starts with a capital: try the capitals of the key from
       the left, so the longest suffix wins ("DateTime" over "Time"). Keys
       without a capital after the first byte (most of them) cost one scan. */
    for (size_t i = 1; i < key.len; i++) {
        if (key.ptr[i] < 'A' || key.ptr[i] > 'Z') continue;
        size_t n = key.len - i;
        for (size_t k = 0; k < sizeof choice_suffix / sizeof choice_suffix[0]; k++)
            if (choice_suffix[k][0] == key.ptr[i] && strlen(choice_suffix[k]) == n &&
                memcmp(key.ptr + i, choice_suffix[k], n) == 0)
                return i;
    }
    return 0;
}

/* Does obj have any variant of the choice element that key is one variant of? */
static bool has_choice(const struct cw_json *obj, cw_slice key)
{
    size_t b = choice_base(key);
    if (!b || obj->type != CW_JSON_OBJECT) return false;
    for (uint32_t i = 0; i < obj->len; i++) {
        cw_slice k = obj->u.members[i].key;
        if (k.len && k.ptr[0] == '_') k = cw_slice_sub(k, 1, k.len);
        if (k.len > b && memcmp(k.ptr, key.ptr, b) == 0 && choice_base(k) == b) return true;
    }
    return false;
}

/*
 * FHIR JSON allows one variant of a choice element per object. When two
 * maps filled two variants (OBR-7 as collectedDateTime, SPM-17 as
 * collectedPeriod), the first one stays and the later one is reported as
 * an invalid value of the instance's segment — never silently dropped.
 */
static int drop_choice_conflicts(struct cv_ctx *c, const struct cv_inst *in, struct cw_json *obj,
                                 int depth)
{
    if (depth > 32) return 0;
    if (obj->type == CW_JSON_ARRAY) {
        for (uint32_t i = 0; i < obj->len; i++)
            if (drop_choice_conflicts(c, in, &obj->u.items[i], depth + 1) != 0) return -1;
        return 0;
    }
    if (obj->type != CW_JSON_OBJECT) return 0;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < obj->len; i++) {
        cw_slice key = obj->u.members[i].key;
        size_t b = key.ptr[0] == '_' ? 0 : choice_base(key);
        bool dup = false;
        for (uint32_t j = 0; j < keep && b; j++) {
            cw_slice other = obj->u.members[j].key;
            dup = other.len > b && memcmp(other.ptr, key.ptr, b) == 0 && choice_base(other) == b;
            if (dup) break;
        }
        if (dup) {
            char seg[4];
            memcpy(seg, c->seg_id, sizeof seg);
            uint32_t occ = c->seg_occ;
            memcpy(c->seg_id, in->src, 3);
            c->seg_id[3] = '\0';
            c->seg_occ = 0;
            cv_report(c, CW_CONVERT_INVALID_VALUE, 0,
                      "%s: a second value for one FHIR choice element was left out", in->src);
            memcpy(c->seg_id, seg, sizeof seg);
            c->seg_occ = occ;
            continue;
        }
        if (drop_choice_conflicts(c, in, &obj->u.members[i].value, depth + 1) != 0) return -1;
        obj->u.members[keep++] = obj->u.members[i];
    }
    obj->len = keep;
    return c->failed ? -1 : 0;
}

static int put_value(struct cv_ctx *c, int32_t idx, const struct cv_field *row, struct cw_json v,
                     uint32_t rep)
{
    struct cw_json *root = &c->inst[idx].obj;
    if (row->flags & CV_F_EXT) {
        const char *bar = strchr(row->path, '|');
        if (!bar) return 0;
        struct cw_json ext = cw_json_object();
        if (cv_put(c, &ext, "url", cv_str(row->arg)) != 0) return -1;
        const char *inner = bar + 1;
        if (strncmp(inner, "extension:", 10) == 0) {
            /* a complex extension: the value goes into its sub-extension
               named by the slice ("|extension:code.valueCodeableConcept") */
            const char *dot = strchr(inner + 10, '.');
            if (!dot) return 0;
            char *name = cw_arena_strndup(c->a, inner + 10, (size_t)(dot - inner - 10));
            if (!name) {
                c->failed = true;
                return -1;
            }
            struct cw_json sub = cw_json_object();
            if (cv_put(c, &sub, "url", cv_str(name)) != 0 ||
                put_path(c, &sub, dot + 1, v, 0) != 0 ||
                put_path(c, &ext, "extension[]", sub, 0) != 0)
                return -1;
        } else if (put_path(c, &ext, inner, v, 0) != 0) {
            return -1;
        }
        struct cw_json *cont = root;
        if (bar != row->path) {
            char *cp = cw_arena_strndup(c->a, row->path, (size_t)(bar - row->path));
            if (!cp) {
                c->failed = true;
                return -1;
            }
            if (!cw_json_get(root, cp) && put_path(c, root, cp, cw_json_object(), 0) != 0)
                return -1;
            cont = get_path(root, cp);
        }
        return put_path(c, cont, "extension[]", ext, 0);
    }
    if (row->dt == DT_OBX_VALUE) {
        if (rep == 1) return merge_into(c, root, &v);
        /* further repetitions: text joins; anything else becomes a component */
        struct cw_json *s = (struct cw_json *)cw_json_get(root, "valueString");
        const struct cw_json *ns = cw_json_get(&v, "valueString");
        if (s && ns && s->type == CW_JSON_STRING) {
            char *j =
                cw_arena_printf(c->a, "%.*s\n%.*s", (int)s->len, s->u.str, (int)ns->len, ns->u.str);
            if (!j) {
                c->failed = true;
                return -1;
            }
            *s = cv_str(j);
            return 0;
        }
        /* obs-7: a component with the Observation's own code forbids
           Observation.value[x], so the first repetition's value moves into
           a component too: one component per repetition, in order */
        const struct cw_json *code = cw_json_get(root, "code");
        for (uint32_t k = 0; k < root->len; k++) {
            cw_slice key = root->u.members[k].key;
            if (key.len <= 5 || memcmp(key.ptr, "value", 5) != 0 || key.ptr[5] < 'A' || key.ptr[5] > 'Z')
                continue;
            struct cw_json first = cw_json_object();
            if (code && cv_put(c, &first, "code", *code) != 0) return -1;
            if (!cw_json_set(c->a, &first, key, root->u.members[k].value)) {
                c->failed = true;
                return -1;
            }
            memmove(&root->u.members[k], &root->u.members[k + 1],
                    (root->len - k - 1) * sizeof root->u.members[0]);
            root->len--;
            if (put_path(c, root, "component[]", first, 0) != 0) return -1;
            break;
        }
        struct cw_json comp = cw_json_object();
        if (code && cv_put(c, &comp, "code", *code) != 0) return -1;
        if (merge_into(c, &comp, &v) != 0) return -1;
        return put_path(c, root, "component[]", comp, 0);
    }
    return put_path(c, root, row->path, v, row->flags);
}

/* Run the rows of field f for the instances of this segment. */
static int do_field(struct cv_ctx *c, const struct cw_hl7v2_node *seg, uint32_t f,
                    const int32_t *insts, const uint8_t *ress, uint32_t ninst)
{
    const struct cw_hl7v2_node *fn = cw_hl7v2_field(seg, f);
    if (!has_data(fn)) return 0;
    c->rep->fields++;
    c->field = f;
    c->rep_ = 0;
    bool any = false, each = false;
    uint32_t mask = 0;
    bool whole = false;
    bool byf;
    int first = rows_field_first(c->seg_id, f, &byf);
    for (uint32_t k = 0; k < ninst; k++)
        for (int j = first; j >= 0; j = rows_next(j, byf)) {
            const struct cv_field *row = &cv_fields[j];
            if (row->field != f || row->res != ress[k]) continue;
            any = true;
            if (path_repeats(row) || row->dt == DT_USED) each = true;
            uint32_t m = cv_dt_info[row->dt].comps;
            if (!m) whole = true;
            mask |= m;
        }
    uint32_t nreps = cw_hl7v2_rep_count(fn);
    if (!any) {
        const char *desc = cw_hl7v2_field_desc(c->version, cw_hl7v2_seg_id(seg), f);
        c->rep_ = 0;
        cv_report(c, CW_CONVERT_UNMAPPED_FIELD, 0, "%s-%u%s%s%s not mapped", c->seg_id, f,
                  desc ? " (" : "", desc ? desc : "", desc ? ")" : "");
        return 0;
    }
    c->rep->fields_mapped++;
    for (uint32_t k = 0; k < ninst; k++)
        for (int j = first; j >= 0; j = rows_next(j, byf)) {
            const struct cv_field *row = &cv_fields[j];
            if (row->field != f || row->res != ress[k]) continue;
            if (row->dt == DT_USED) continue;
            if (row->flags & (CV_F_UNLESS | CV_F_IF)) {
                long long other = 0;
                bool valued = cw_slice_to_i64(cw_slice_cstr(row->arg), &other) == 0 && other > 0 &&
                              has_data(cw_hl7v2_field(seg, (uint32_t)other));
                if (valued == !!(row->flags & CV_F_UNLESS)) continue;
            }
            uint32_t n = path_repeats(row) ? nreps : 1;
            for (uint32_t r = 1; r <= n; r++) {
                const struct cw_hl7v2_node *rep = cw_hl7v2_rep(fn, r);
                if (!has_data(rep)) continue;
                c->rep_ = r;
                struct cw_json v;
                if (cv_dt_convert(c, row->dt, seg, rep, row->arg, &v) != 0 || c->failed) return -1;
                if (v.type == CW_JSON_NULL) continue;
                if (put_value(c, insts[k], row, v, r) != 0) return -1;
            }
        }
    /* what the rows could not hold */
    for (uint32_t r = 1; r <= nreps; r++) {
        const struct cw_hl7v2_node *rep = cw_hl7v2_rep(fn, r);
        if (!has_data(rep)) continue;
        c->rep_ = r;
        if (r > 1 && !each) {
            cv_report(c, CW_CONVERT_UNMAPPED_FIELD, 0, "repetition of %s-%u not mapped", c->seg_id,
                      f);
            continue;
        }
        if (whole) continue;
        uint32_t nc = cw_hl7v2_comp_count(rep);
        for (uint32_t k = 1; k <= nc; k++) {
            if (k <= 32 && (mask & (1u << (k - 1)))) continue;
            if (!has_data(cw_hl7v2_comp(rep, k))) continue;
            cv_report(c, CW_CONVERT_UNMAPPED_COMPONENT, k, "component %u of %s-%u not mapped", k,
                      c->seg_id, f);
        }
    }
    return 0;
}

/* ---- the message ---- */

static const struct cv_msgmap *find_map(cw_slice type, cw_slice event, bool *type_known)
{
    *type_known = false;
    for (size_t i = 0; i < cv_nmsgmaps; i++) {
        if (!cw_slice_eq_cstr(type, cv_msgmaps[i].type)) continue;
        *type_known = true;
        const char *e = cv_msgmaps[i].events;
        while (*e) {
            while (*e == ' ') e++;
            const char *s = e;
            while (*e && *e != ' ') e++;
            if ((size_t)(e - s) == event.len && event.len && memcmp(s, event.ptr, event.len) == 0)
                return &cv_msgmaps[i];
        }
    }
    return NULL;
}

static bool events_match(const char *events, cw_slice event)
{
    const char *e = events;
    while (*e) {
        while (*e == ' ') e++;
        const char *s = e;
        while (*e && *e != ' ') e++;
        if ((size_t)(e - s) == event.len && event.len && memcmp(s, event.ptr, event.len) == 0)
            return true;
    }
    return false;
}

static int finish(struct cv_ctx *c, const struct cv_msgmap *mm, cw_slice type, cw_slice event,
                  int32_t prov, int32_t mh, struct cw_convert_result *out)
{
    (void)mm;
    /* event-driven values */
    for (size_t k = 0; k < cv_nevent_values; k++) {
        const struct cv_event_value *ev = &cv_event_values[k];
        if (!cw_slice_eq_cstr(type, ev->type) || !events_match(ev->events, event)) continue;
        for (uint32_t i = 0; i < c->ninst; i++)
            if (c->inst[i].res == ev->res &&
                put_path(c, &c->inst[i].obj, ev->path, cv_str(ev->value), 0) != 0)
                return -1;
    }
    /* Encounter without an event status: discharged when PV1-45 is there */
    for (uint32_t i = 0; i < c->ninst; i++) {
        struct cw_json *o = &c->inst[i].obj;
        if (c->inst[i].res == R_ENCOUNTER && !cw_json_get(o, "status") && get_path(o, "period.end"))
            put_path(c, o, "status", cv_str("finished"), 0);
    }
    /* references */
    int32_t first_patient = -1;
    for (uint32_t i = 0; i < c->ninst && first_patient < 0; i++)
        if (c->inst[i].res == R_PATIENT && !c->inst[i].side) first_patient = (int32_t)i;
    for (uint32_t i = 0; i < c->ninst; i++) {
        for (size_t k = 0; k < cv_nlinks; k++) {
            const struct cv_link *l = &cv_links[k];
            if (l->from != c->inst[i].res) continue;
            if (l->scope == CV_L_CHILDREN) {
                for (uint32_t j = 0; j < c->ninst; j++)
                    if (c->inst[j].res == l->to && c->inst[j].ctx[l->from] == (int32_t)i &&
                        j != i &&
                        put_path(c, &c->inst[i].obj, l->path, cv_reference(c, (int32_t)j), 0) != 0)
                        return -1;
                continue;
            }
            int32_t t = c->inst[i].ctx[l->to];
            if (t < 0 && l->to == R_PATIENT) t = first_patient; /* SIU: SCH before PID */
            if (t < 0 || t == (int32_t)i) continue;
            struct cw_json ref = cv_reference(c, t);
            if (l->scope == CV_L_PARTICIPANT) {
                struct cw_json p = cw_json_object();
                cv_put(c, &p, "actor", ref);
                cv_put(c, &p, "status", cv_str("accepted"));
                ref = p;
            }
            if (put_path(c, &c->inst[i].obj, l->path, ref, CV_F_IFABSENT) != 0) return -1;
        }
    }
    /* merges (ADT^A40): MRG names the prior patient, PID the survivor */
    for (uint32_t i = 0; i < c->ninst; i++) {
        if (!c->inst[i].side || c->inst[i].res != R_PATIENT) continue;
        int32_t s = c->inst[i].ctx[R_PATIENT];
        if (s < 0 || s == (int32_t)i) continue;
        struct cw_json l1 = cw_json_object(), l2 = cw_json_object();
        cv_put(c, &l1, "other", cv_reference(c, s));
        cv_put(c, &l1, "type", cv_str("replaced-by"));
        cv_put(c, &l2, "other", cv_reference(c, (int32_t)i));
        cv_put(c, &l2, "type", cv_str("replaces"));
        put_path(c, &c->inst[i].obj, "active", cw_json_bool(false), 0);
        put_path(c, &c->inst[i].obj, "link[]", l1, 0);
        put_path(c, &c->inst[s].obj, "link[]", l2, 0);
    }
    /* one value per FHIR choice element (two maps may both fill one) */
    for (uint32_t i = 0; i < c->ninst; i++)
        if (drop_choice_conflicts(c, &c->inst[i], &c->inst[i].obj, 0) != 0) return -1;
    /* defaults of required elements */
    for (uint32_t i = 0; i < c->ninst; i++)
        for (size_t k = 0; k < cv_ndefaults; k++) {
            const struct cv_default *d = &cv_defaults[k];
            if (d->res != c->inst[i].res || get_path(&c->inst[i].obj, d->path)) continue;
            if (d->path[0] == '_' && has_choice(&c->inst[i].obj, cw_slice_cstr(d->path + 1)))
                continue; /* "_occurrenceDateTime": only when no occurrence[x] at all */
            struct cw_json v = cv_str(d->value), *pv = NULL;
            struct cw_err e;
            if (d->value[0] == '{' || d->value[0] == '[') {
                if (cw_json_parse(c->a, d->value, strlen(d->value), NULL, &pv, &e) != 0) {
                    c->failed = true;
                    return -1;
                }
                v = *pv;
            }
            if (put_path(c, &c->inst[i].obj, d->path, v, 0) != 0) return -1;
        }
    /* Provenance: every resource, traced to its segment, from this message */
    if (prov >= 0) {
        for (uint32_t i = 0; i < c->ninst; i++) {
            if ((int32_t)i == prov) continue;
            struct cw_json t = cv_reference(c, (int32_t)i), ext = cw_json_object();
            cv_put(c, &ext, "url", cv_str(CV_EXT_SEGMENT));
            cv_put(c, &ext, "valueString", cv_str(c->inst[i].src));
            put_path(c, &t, "extension[]", ext, 0);
            if (put_path(c, &c->inst[prov].obj, "target[]", t, 0) != 0) return -1;
        }
        struct cw_json ent = cw_json_object(),
                       what = mh >= 0 ? cv_reference(c, mh) : cw_json_object();
        struct cw_json ident = cw_json_object();
        cv_put(c, &ident, "system", cv_str("urn:causeway:v2-message-control-id"));
        cv_put_str(c, &ident, "value", c->control_id);
        if (c->control_id.len) cv_put(c, &what, "identifier", ident);
        cv_put(c, &ent, "role", cv_str("source"));
        cv_put(c, &ent, "what", what);
        put_path(c, &c->inst[prov].obj, "entity[]", ent, 0);
        if (!cw_json_get(&c->inst[prov].obj, "agent")) {
            struct cw_json ag = cw_json_object(), who = cw_json_object(), ty;
            struct cw_json *sender =
                mh >= 0 ? (struct cw_json *)cw_json_get(&c->inst[mh].obj, "sender") : NULL;
            if (sender)
                who = *sender;
            else
                cv_put_str(c, &who, "display",
                           c->sender.len ? c->sender : CW_LIT("unknown sender"));
            const char *tj = "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                             "provenance-participant-type\",\"code\":\"author\"}]}";
            struct cw_json *pt = NULL;
            struct cw_err e;
            if (cw_json_parse(c->a, tj, strlen(tj), NULL, &pt, &e) != 0) {
                c->failed = true;
                return -1;
            }
            ty = *pt;
            cv_put(c, &ag, "type", ty);
            cv_put(c, &ag, "who", who);
            put_path(c, &c->inst[prov].obj, "agent[]", ag, 0);
        }
        if (!cw_json_get(&c->inst[prov].obj, "recorded"))
            put_path(c, &c->inst[prov].obj, "recorded", cv_str("1970-01-01T00:00:00Z"), 0);
    }
    /* the Bundle */
    struct cw_json b = cw_json_object(), entries = cw_json_array();
    cv_put(c, &b, "resourceType", cv_str("Bundle"));
    if (c->control_id.len) {
        struct cw_json bi = cw_json_object();
        cv_put(c, &bi, "system", cv_str("urn:causeway:v2-message-control-id"));
        cv_put_str(c, &bi, "value", c->control_id);
        cv_put(c, &b, "identifier", bi);
    }
    cv_put(c, &b, "type", cv_str("transaction"));
    if (prov >= 0) {
        const struct cw_json *rec = cw_json_get(&c->inst[prov].obj, "recorded");
        if (rec) cv_put(c, &b, "timestamp", *rec);
    }
    for (uint32_t i = 0; i < c->ninst; i++) {
        struct cw_json e = cw_json_object(), req = cw_json_object();
        char *fu = cw_arena_printf(c->a, "urn:uuid:%s", c->inst[i].id);
        if (!fu) {
            c->failed = true;
            return -1;
        }
        cv_put(c, &e, "fullUrl", cv_str(fu));
        cv_put(c, &e, "resource", c->inst[i].obj);
        cv_put(c, &req, "method", cv_str("PUT"));
        cv_put(c, &req, "url", cv_str(c->inst[i].ref));
        cv_put(c, &e, "request", req);
        if (!cw_json_append(c->a, &entries, e)) {
            c->failed = true;
            return -1;
        }
    }
    cv_put(c, &b, "entry", entries);
    if (c->failed) return -1;
    out->bundle = cw_arena_alloc(c->a, sizeof *out->bundle);
    if (!out->bundle) return -1;
    *out->bundle = b;
    out->nresources = c->ninst;
    return 0;
}

int cw_convert_v2(struct cw_arena *a, const struct cw_hl7v2_msg *m,
                  const struct cw_convert_opts *opts, struct cw_convert_result *out,
                  struct cw_err *err)
{
    struct cw_convert_opts o = opts ? *opts : (struct cw_convert_opts){0};
    if (!o.max_resources) o.max_resources = CW_CONVERT_DEFAULT_MAX_RESOURCES;
    if (!o.max_report) o.max_report = CW_CONVERT_DEFAULT_MAX_REPORT;
    memset(out, 0, sizeof *out);
    cw_err_clear(err);
    struct cv_ctx c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.m = m;
    c.o = &o;
    c.rep = &out->report;
    c.err = err;
    for (int t = 0; t < R_COUNT; t++) c.cur[t] = -1;
    struct cw_hash_opts ho = {.fn = CW_HASH_FAST};
    if (cw_hash_init(&c.ids, &ho, err) != 0) return -1;

    const struct cw_hl7v2_node *msh = cw_hl7v2_seg_at(m, 0);
    memcpy(c.seg_id, "MSH", 4);
    c.seg_occ = 1;
    const struct cw_hl7v2_node *m9 = cw_hl7v2_rep(cw_hl7v2_field(msh, 9), 1);
    cw_slice type = cv_comp(&c, m9, 1), event = cv_comp(&c, m9, 2);
    int rc = -1;
    if (!type.len) {
        cw_err_set(err, CW_ISSUE_REQUIRED, "message type (MSH-9) missing");
        err->v2_code = CW_V2_REQUIRED_MISSING;
        cw_err_at(err, "MSH-9");
        goto done;
    }
    {
        const struct cw_hl7v2_node *f4 = cw_hl7v2_rep(cw_hl7v2_field(msh, 4), 1);
        const struct cw_hl7v2_node *f3 = cw_hl7v2_rep(cw_hl7v2_field(msh, 3), 1);
        cw_slice s = cv_comp(&c, f4, 2);
        if (!s.len) s = cv_comp(&c, f4, 1);
        if (!s.len) s = cv_comp(&c, f3, 2);
        if (!s.len) s = cv_comp(&c, f3, 1);
        c.sender = s;
        c.control_id = cv_text(&c, cw_hl7v2_field(msh, 10));
        c.version = cv_comp(&c, cw_hl7v2_rep(cw_hl7v2_field(msh, 12), 1), 1);
    }
    bool type_known;
    const struct cv_msgmap *mm = find_map(type, event, &type_known);
    if (!mm) {
        if (o.flags & CW_CONVERT_STRICT_TYPE) {
            cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "message %s not supported",
                       type_known ? "event" : "type");
            err->v2_code = type_known ? CW_V2_UNSUPPORTED_EVENT : CW_V2_UNSUPPORTED_MESSAGE_TYPE;
            cw_err_at(err, type_known ? "MSH-9.2" : "MSH-9.1");
            goto done;
        }
        cv_report(&c, CW_CONVERT_UNSUPPORTED, 0,
                  "no message map for this %s; default segment roles used",
                  type_known ? "event" : "message type");
    }
    if (mm && (mm->flags & CV_MSG_NEEDS_PID) && !cw_hl7v2_seg_find(m, CW_LIT("PID"), 1, NULL)) {
        cw_err_set(err, CW_ISSUE_REQUIRED, "PID segment missing");
        err->v2_code = CW_V2_SEGMENT_SEQUENCE;
        cw_err_at(err, "PID");
        goto done;
    }

    struct {
        char id[4];
        uint32_t n;
    } occ[64];
    uint32_t nocc = 0;
    int32_t prev[8], prov = -1, mh = -1;
    uint32_t nprev = 0;
    out->report.segments = m->nsegs;
    for (uint32_t si = 0; si < m->nsegs && !c.failed; si++) {
        const struct cw_hl7v2_node *seg = cw_hl7v2_seg_at(m, si);
        cw_slice sid = cw_hl7v2_seg_id(seg);
        memset(c.seg_id, 0, 4);
        memcpy(c.seg_id, sid.ptr, sid.len < 3 ? sid.len : 3);
        c.seg_index = si;
        c.field = 0;
        c.rep_ = 0;
        uint32_t k;
        for (k = 0; k < nocc; k++)
            if (memcmp(occ[k].id, c.seg_id, 4) == 0) break;
        if (k == nocc && nocc < 64) {
            memcpy(occ[nocc].id, c.seg_id, 4);
            occ[nocc++].n = 0;
        }
        c.seg_occ = k < nocc ? ++occ[k].n : 0;

        /* roles of this segment in this message */
        const struct cv_role *roles = NULL;
        size_t nroles = 0;
        bool from_map = false;
        if (mm)
            for (size_t r = 0; r < mm->nroles; r++)
                if (memcmp(mm->roles[r].seg, c.seg_id, 4) == 0) from_map = true;
        const struct cv_role *list = from_map ? mm->roles : cv_default_roles;
        size_t nlist = from_map ? mm->nroles : cv_ndefault_roles;
        int32_t insts[8];
        uint8_t ress[8];
        uint32_t ninst = 0;
        for (size_t r = 0; r < nlist && ninst < 8; r++) {
            if (memcmp(list[r].seg, c.seg_id, 4) != 0) continue;
            roles = &list[r];
            nroles++;
            uint8_t res;
            int32_t i = resolve_role(&c, roles, seg, prev, nprev, &res);
            if (c.failed) goto fail;
            if (i < 0) continue;
            inst_add_seg(&c.inst[i], c.seg_id);
            insts[ninst] = i;
            ress[ninst++] = res;
            if (res == R_PROVENANCE && prov < 0) prov = i;
            if (res == R_MESSAGEHEADER && mh < 0) mh = i;
        }
        if (!ninst) {
            bool data = false;
            uint32_t nf = cw_hl7v2_field_count(seg);
            for (uint32_t f = 1; f <= nf && !data; f++) data = has_data(cw_hl7v2_field(seg, f));
            if (data)
                cv_report(&c, CW_CONVERT_UNMAPPED_SEGMENT, 0,
                          "segment %s not mapped in this message", c.seg_id);
            continue;
        }
        out->report.segments_mapped++;
        uint32_t nf = cw_hl7v2_field_count(seg);
        bool is_msh = memcmp(c.seg_id, "MSH", 4) == 0;
        for (uint32_t f = is_msh ? 3 : 1; f <= nf; f++)
            if (do_field(&c, seg, f, insts, ress, ninst) != 0) goto fail;
        if (memcmp(c.seg_id, "NTE", 4) != 0) {
            nprev = 0;
            for (uint32_t q = 0; q < ninst && nprev < 8; q++) prev[nprev++] = insts[q];
        }
    }
    if (c.failed) goto fail;
    if (finish(&c, mm, type, event, prov, mh, out) != 0) goto fail;
    rc = 0;
    goto done;
fail:
    if (!cw_err_is_set(err)) {
        cw_err_set(err, CW_ISSUE_TOO_COSTLY, "conversion ran out of memory");
        err->v2_code = CW_V2_INTERNAL;
    }
    rc = -1;
done:
    cw_hash_release(&c.ids);
    return rc;
}
