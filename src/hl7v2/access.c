/*
 * access.c — navigation, paths and locations over a parsed message.
 *
 * Implements the path syntax documented in hl7v2.h ("Paths") and
 * docs/internals/hl7v2.md: SEG[occ]-FIELD[rep].COMP.SUB, 1-based, with
 * "(n)" as a synonym of "[n]". Nothing here allocates except cw_hl7v2_get,
 * which may decode into the arena.
 *
 * Invariant relied on: a node without kids at level L+1 stands for its own
 * only child at that level (hl7v2.h, "Model").
 */
#include "hl7v2/hl7v2_int.h"

#include <stdio.h>

const struct cw_hl7v2_node *cw_hl7v2_seg_at(const struct cw_hl7v2_msg *m, uint32_t i)
{
    return m && i < m->nsegs ? &m->segs[i] : NULL;
}

cw_slice cw_hl7v2_seg_id(const struct cw_hl7v2_node *seg)
{
    if (!seg || seg->n == 0) return CW_SLICE_NULL;
    return (cw_slice){seg->kids[0].ptr, seg->kids[0].len};
}

static inline bool id_is(const struct cw_hl7v2_node *seg, cw_slice id)
{
    if (seg->n == 0 || seg->kids[0].len != id.len) return false;
    return id.len == 0 || memcmp(seg->kids[0].ptr, id.ptr, id.len) == 0;
}

const struct cw_hl7v2_node *cw_hl7v2_seg_find(const struct cw_hl7v2_msg *m, cw_slice id,
                                              uint32_t occ, uint32_t *index)
{
    if (!m || occ == 0) return NULL;
    for (uint32_t i = 0; i < m->nsegs; i++) {
        if (id_is(&m->segs[i], id) && --occ == 0) {
            if (index) *index = i;
            return &m->segs[i];
        }
    }
    return NULL;
}

uint32_t cw_hl7v2_seg_count(const struct cw_hl7v2_msg *m, cw_slice id)
{
    uint32_t n = 0;
    for (uint32_t i = 0; m && i < m->nsegs; i++) n += id_is(&m->segs[i], id);
    return n;
}

uint32_t cw_hl7v2_field_count(const struct cw_hl7v2_node *seg)
{
    return seg && seg->n ? (uint32_t)seg->n - 1 : 0;
}

const struct cw_hl7v2_node *cw_hl7v2_field(const struct cw_hl7v2_node *seg, uint32_t f)
{
    return seg && f < seg->n ? &seg->kids[f] : NULL;
}

/* Child idx (1-based) at 'level' of a node whose own kids may be deeper. */
static inline const struct cw_hl7v2_node *child(const struct cw_hl7v2_node *n, int level,
                                                uint32_t idx)
{
    if (!n || idx == 0) return NULL;
    if (n->n && n->kind == level) return idx <= n->n ? &n->kids[idx - 1] : NULL;
    return idx == 1 ? n : NULL;
}

static inline uint32_t child_count(const struct cw_hl7v2_node *n, int level)
{
    if (!n) return 0;
    if (n->n && n->kind == level) return n->n;
    return n->len ? 1 : 0;
}

const struct cw_hl7v2_node *cw_hl7v2_rep(const struct cw_hl7v2_node *field, uint32_t r)
{
    return child(field, CW_HL7V2_REP, r);
}

const struct cw_hl7v2_node *cw_hl7v2_comp(const struct cw_hl7v2_node *rep, uint32_t c)
{
    return child(rep, CW_HL7V2_COMP, c);
}

const struct cw_hl7v2_node *cw_hl7v2_sub(const struct cw_hl7v2_node *comp, uint32_t s)
{
    return child(comp, CW_HL7V2_SUB, s);
}

uint32_t cw_hl7v2_rep_count(const struct cw_hl7v2_node *field)
{
    return child_count(field, CW_HL7V2_REP);
}

uint32_t cw_hl7v2_comp_count(const struct cw_hl7v2_node *rep)
{
    return child_count(rep, CW_HL7V2_COMP);
}

uint32_t cw_hl7v2_sub_count(const struct cw_hl7v2_node *comp)
{
    return child_count(comp, CW_HL7V2_SUB);
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

static int bad_path(struct cw_err *err, cw_slice text, const char *why)
{
    hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_INVALID, "", "bad path: %s", why);
    cw_err_at_slice(err, text);
    return -1;
}

/* Read a positive decimal number at *i. */
static int read_num(cw_slice t, size_t *i, uint32_t *out)
{
    size_t j = *i;
    uint64_t v = 0;
    while (j < t.len && t.ptr[j] >= '0' && t.ptr[j] <= '9' && j - *i < 10) {
        v = v * 10 + (uint64_t)(t.ptr[j] - '0');
        j++;
    }
    if (j == *i || v == 0 || v > 0x7fffffff) return -1;
    if (j < t.len && t.ptr[j] >= '0' && t.ptr[j] <= '9') return -1;
    *out = (uint32_t)v;
    *i = j;
    return 0;
}

/* "[n]" or "(n)" at *i; 0 when absent, -1 when malformed. */
static int read_index(cw_slice t, size_t *i, uint32_t *out)
{
    if (*i >= t.len || (t.ptr[*i] != '[' && t.ptr[*i] != '(')) return 0;
    char close = t.ptr[*i] == '[' ? ']' : ')';
    size_t j = *i + 1;
    if (read_num(t, &j, out) < 0 || j >= t.len || t.ptr[j] != close) return -1;
    *i = j + 1;
    return 1;
}

int cw_hl7v2_path_parse(cw_slice t, struct cw_hl7v2_path *p, struct cw_err *err)
{
    memset(p, 0, sizeof *p);
    p->occ = 1;
    if (t.len < 3 || !hl7v2_id_ok((cw_slice){t.ptr, 3}))
        return bad_path(err, t, "a segment ID of 3 uppercase letters or digits must come first");
    memcpy(p->seg, t.ptr, 3);
    size_t i = 3;
    int r = read_index(t, &i, &p->occ);
    if (r < 0) return bad_path(err, t, "segment occurrence must be [n] or (n) with n >= 1");
    if (i == t.len) return 0;
    if (t.ptr[i] != '-')
        return bad_path(err, t, "'-' and a field number expected after the segment");
    i++;
    if (read_num(t, &i, &p->field) < 0) return bad_path(err, t, "field number >= 1 expected");
    r = read_index(t, &i, &p->rep);
    if (r < 0) return bad_path(err, t, "repetition must be [n] or (n) with n >= 1");
    if (i < t.len) {
        if (t.ptr[i] != '.') return bad_path(err, t, "'.' and a component number expected");
        i++;
        if (read_num(t, &i, &p->comp) < 0)
            return bad_path(err, t, "component number >= 1 expected");
        if (i < t.len) {
            if (t.ptr[i] != '.') return bad_path(err, t, "'.' and a subcomponent number expected");
            i++;
            if (read_num(t, &i, &p->sub) < 0)
                return bad_path(err, t, "subcomponent number >= 1 expected");
        }
    }
    if (i != t.len) return bad_path(err, t, "unexpected text after the path");
    if (hl7v2_is_header_id((cw_slice){p->seg, 3}) && p->field <= 2 && (p->rep || p->comp))
        return bad_path(err, t, "MSH-1 and MSH-2 have no repetitions or components");
    return 0;
}

size_t hl7v2_loc(char *buf, size_t size, cw_slice seg, uint32_t occ, uint32_t field, uint32_t rep,
                 uint32_t comp, uint32_t sub)
{
    if (size == 0) return 0;
    buf[0] = '\0';
    if (!hl7v2_id_ok(seg)) return 0; /* never echo a malformed ID: it may be message text */
    int n = snprintf(buf, size, "%.3s", seg.ptr);
    size_t len = n > 0 ? (size_t)n : 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        if (len < size) {                                                                          \
            int k_ = snprintf(buf + len, size - len, __VA_ARGS__);                                 \
            if (k_ > 0) len += (size_t)k_;                                                         \
        }                                                                                          \
    } while (0)
    if (occ > 1) APPEND("[%u]", occ);
    if (field) {
        APPEND("-%u", field);
        if (rep > 1 || (rep == 1 && comp == 0)) APPEND("[%u]", rep);
        if (comp) {
            APPEND(".%u", comp);
            if (sub) APPEND(".%u", sub);
        }
    }
#undef APPEND
    return len < size ? len : size - 1;
}

size_t cw_hl7v2_path_format(const struct cw_hl7v2_path *p, char *buf, size_t size)
{
    return hl7v2_loc(buf, size, (cw_slice){p->seg, strnlen(p->seg, sizeof p->seg)}, p->occ,
                     p->field, p->rep, p->comp, p->sub);
}

const struct cw_hl7v2_node *cw_hl7v2_lookup(const struct cw_hl7v2_msg *m,
                                            const struct cw_hl7v2_path *p)
{
    cw_slice id = {p->seg, strnlen(p->seg, sizeof p->seg)};
    const struct cw_hl7v2_node *s = cw_hl7v2_seg_find(m, id, p->occ, NULL);
    if (!s || p->field == 0) return s;
    const struct cw_hl7v2_node *f = cw_hl7v2_field(s, p->field);
    if (!f) return NULL;
    if (hl7v2_is_header_id(id) && p->field <= 2) return f;
    if (p->rep == 0 && p->comp == 0) return f;
    const struct cw_hl7v2_node *r = cw_hl7v2_rep(f, p->rep ? p->rep : 1);
    if (!r || p->comp == 0) return r;
    const struct cw_hl7v2_node *c = cw_hl7v2_comp(r, p->comp);
    if (!c || p->sub == 0) return c;
    return cw_hl7v2_sub(c, p->sub);
}

int cw_hl7v2_get(struct cw_arena *a, const struct cw_hl7v2_msg *m, cw_slice path, cw_slice *out,
                 bool *found, bool *composite, struct cw_err *err)
{
    struct cw_hl7v2_path p;
    *out = CW_SLICE_NULL;
    if (found) *found = false;
    if (composite) *composite = false;
    if (cw_hl7v2_path_parse(path, &p, err) < 0) return -1;
    const struct cw_hl7v2_node *n = cw_hl7v2_lookup(m, &p);
    if (!n) return 0;
    if (found) *found = true;
    bool raw = p.field == 0 || (hl7v2_is_header_id((cw_slice){p.seg, 3}) && p.field <= 2);
    if (raw || n->n) {
        if (composite) *composite = !raw || p.field == 0;
        *out = cw_hl7v2_text(n);
        return 0;
    }
    return hl7v2_decode(a, m, cw_hl7v2_text(n), (n->flags & CW_HL7V2_NODE_ESC) != 0, out, err);
}

/* ------------------------------------------------------------------ */
/* Locations                                                           */
/* ------------------------------------------------------------------ */

uint32_t hl7v2_occurrence(const struct cw_hl7v2_msg *m, uint32_t i)
{
    cw_slice id = cw_hl7v2_seg_id(&m->segs[i]);
    uint32_t occ = 1;
    for (uint32_t j = 0; j < i; j++) occ += id_is(&m->segs[j], id);
    return occ;
}

/* Index of the kid of n whose text contains p, or -1. Kids are in text order. */
static long kid_at(const struct cw_hl7v2_node *n, const char *p)
{
    long lo = 0, hi = (long)n->n - 1, best = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (n->kids[mid].ptr <= p) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (best < 0 || p > n->kids[best].ptr + n->kids[best].len) return -1;
    return best;
}

size_t hl7v2_locate(const struct cw_hl7v2_msg *m, const char *p, char *buf, size_t size)
{
    if (size) buf[0] = '\0';
    for (uint32_t i = 0; i < m->nsegs; i++) {
        const struct cw_hl7v2_node *s = &m->segs[i];
        if (p < s->ptr || p >= s->ptr + s->len) continue;
        uint32_t field = 0, rep = 0, comp = 0, sub = 0;
        long f = s->n ? kid_at(s, p) : -1;
        if (f > 0) {
            field = (uint32_t)f;
            const struct cw_hl7v2_node *n = &s->kids[f];
            long k;
            if (n->n && n->kind == CW_HL7V2_REP && (k = kid_at(n, p)) >= 0) {
                rep = (uint32_t)k + 1;
                n = &n->kids[k];
            }
            if (n->n && n->kind == CW_HL7V2_COMP && (k = kid_at(n, p)) >= 0) {
                comp = (uint32_t)k + 1;
                n = &n->kids[k];
            }
            if (n->n && n->kind == CW_HL7V2_SUB && (k = kid_at(n, p)) >= 0) {
                sub = (uint32_t)k + 1;
                if (!comp) comp = 1;
            }
        }
        return hl7v2_loc(buf, size, cw_hl7v2_seg_id(s), hl7v2_occurrence(m, i), field, rep, comp,
                         sub);
    }
    return 0;
}

cw_slice hl7v2_msh(const struct cw_hl7v2_msg *m, uint32_t f, uint32_t c)
{
    if (!m || m->nsegs == 0) return CW_SLICE_NULL;
    const struct cw_hl7v2_node *n = cw_hl7v2_field(&m->segs[0], f);
    if (!n || c == 0) return cw_hl7v2_text(n);
    return cw_hl7v2_text(cw_hl7v2_comp(cw_hl7v2_rep(n, 1), c));
}
