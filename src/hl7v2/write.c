/*
 * write.c — serializing, building and changing messages.
 *
 * Spec: HL7 v2.5.1 section 2.5 (encoding rules), 2.7 (escaping on output).
 *
 * Design: every node's text (ptr/len) is kept current. A change replaces
 * one node and then re-joins the text of each ancestor up to the segment,
 * so writing is a copy of segment texts plus terminators, and unchanged
 * parts stay byte-identical to the input. CW_HL7V2_WRITE_REBUILD ignores
 * the cached texts and joins from the leaves; the tests and the fuzzer use
 * it to prove that the tree holds everything the text does.
 *
 * Ownership: a change allocates the new text and any grown kids arrays in
 * the arena given to it; the old ones stay where they were (arena memory
 * is released all at once). Kids arrays created here carry
 * CW_HL7V2_NODE_OWN and have room for the next power of two of kids, so
 * appending one by one is amortized O(1).
 */
#include "hl7v2/hl7v2_int.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static void ser(const struct cw_hl7v2_delims *d, const struct cw_hl7v2_node *n, struct cw_buf *out)
{
    if (n->n == 0) {
        cw_buf_append(out, n->ptr, n->len);
        return;
    }
    char delim = hl7v2_delim_of(d, n->kind);
    for (uint32_t i = 0; i < n->n; i++) {
        if (i) cw_buf_putc(out, delim);
        ser(d, &n->kids[i], out);
    }
}

static void ser_seg(const struct cw_hl7v2_delims *d, const struct cw_hl7v2_node *s,
                    struct cw_buf *out)
{
    bool header = hl7v2_is_header_id(cw_hl7v2_seg_id(s));
    for (uint32_t f = 0; f < s->n; f++) {
        if (header && f == 1) continue;
        if (f) cw_buf_putc(out, d->field);
        if (header && f == 2)
            cw_buf_append(out, s->kids[2].ptr, s->kids[2].len);
        else
            ser(d, &s->kids[f], out);
    }
}

int cw_hl7v2_write(const struct cw_hl7v2_msg *m, unsigned flags, struct cw_buf *out,
                   struct cw_err *err)
{
    bool canon = flags & CW_HL7V2_WRITE_CR;
    if (m->bom && !canon) cw_buf_append(out, "\xef\xbb\xbf", 3);
    for (uint32_t i = 0; i < m->nsegs; i++) {
        const struct cw_hl7v2_node *s = &m->segs[i];
        if (flags & CW_HL7V2_WRITE_REBUILD)
            ser_seg(&m->delims, s, out);
        else
            cw_buf_append(out, s->ptr, s->len);
        bool last = i + 1 == m->nsegs;
        if (canon) {
            if (!last || (flags & CW_HL7V2_WRITE_FINAL_CR)) cw_buf_putc(out, '\r');
            continue;
        }
        switch (s->flags & CW_HL7V2_TERM_MASK) {
        case CW_HL7V2_TERM_CR:
            cw_buf_putc(out, '\r');
            break;
        case CW_HL7V2_TERM_LF:
            cw_buf_putc(out, '\n');
            break;
        case CW_HL7V2_TERM_CRLF:
            cw_buf_append(out, "\r\n", 2);
            break;
        default:
            if (!last) cw_buf_putc(out, '\r');
            break;
        }
    }
    if (cw_buf_failed(out))
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "", "output buffer full");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Tree surgery                                                        */
/* ------------------------------------------------------------------ */

static int oom(struct cw_err *err)
{
    return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                      "out of memory or arena limit while changing a message");
}

static uint32_t cap_of(uint32_t n)
{
    uint32_t c = 4;
    while (c < n) c *= 2;
    return c;
}

/* Make room for 'count' kids in n's kids array (growing or copying it). */
static int reserve_kids(struct cw_arena *a, struct cw_hl7v2_node *n, uint32_t count,
                        struct cw_err *err)
{
    if (count > CW_HL7V2_MAX_KIDS)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                          "more than %u kids in one node", CW_HL7V2_MAX_KIDS);
    if ((n->flags & CW_HL7V2_NODE_OWN) && count <= cap_of(n->n)) return 0;
    struct cw_hl7v2_node *k = cw_arena_array(a, cap_of(count), sizeof *k);
    if (!k) return oom(err);
    if (n->n) memcpy(k, n->kids, (size_t)n->n * sizeof *k);
    n->kids = k;
    n->flags |= CW_HL7V2_NODE_OWN;
    return 0;
}

/*
 * Give n at least 'count' kids of level 'level', keeping what it holds: a
 * node whose kids are deeper (or a leaf) first becomes its own first kid.
 */
static int ensure_kids(struct cw_arena *a, struct cw_hl7v2_node *n, int level, uint32_t count,
                       struct cw_err *err)
{
    if (n->n == 0 || n->kind != level) {
        struct cw_hl7v2_node self = *n;
        self.flags &= (uint8_t)~CW_HL7V2_TERM_MASK;
        n->n = 0;
        n->flags &= (uint8_t)~CW_HL7V2_NODE_OWN;
        n->kids = NULL;
        if (reserve_kids(a, n, count > 1 ? count : 1, err) < 0) return -1;
        n->kids[0] = self;
        n->n = 1;
        n->kind = (uint8_t)level;
    }
    if (n->n < count) {
        if (reserve_kids(a, n, count, err) < 0) return -1;
        for (uint32_t i = n->n; i < count; i++)
            n->kids[i] = (struct cw_hl7v2_node){"", 0, 0, 0, 0, NULL};
        n->n = (uint16_t)count;
    }
    return 0;
}

/* Re-join n's text from its kids. header: n is an MSH/FHS/BHS segment. */
static int rejoin(struct cw_arena *a, const struct cw_hl7v2_delims *d, struct cw_hl7v2_node *n,
                  bool header, struct cw_err *err)
{
    if (n->n == 0) return 0;
    uint64_t len = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        if (header && i == 1) continue;
        len += n->kids[i].len + (i ? 1 : 0);
    }
    if (len > UINT32_MAX) return oom(err);
    char *t = cw_arena_alloc_bytes(a, (size_t)len ? (size_t)len : 1);
    if (!t) return oom(err);
    char delim = hl7v2_delim_of(d, n->kind);
    size_t o = 0;
    uint8_t esc = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        if (header && i == 1) continue;
        if (i) t[o++] = delim;
        memcpy(t + o, n->kids[i].ptr, n->kids[i].len);
        o += n->kids[i].len;
        esc |= n->kids[i].flags & CW_HL7V2_NODE_ESC;
    }
    n->ptr = t;
    n->len = (uint32_t)len;
    if (!header) n->flags = (uint8_t)((n->flags & ~CW_HL7V2_NODE_ESC) | esc);
    return 0;
}

int hl7v2_split(struct cw_arena *a, const struct cw_hl7v2_delims *d, cw_slice text, int level,
                struct cw_hl7v2_node *out, struct cw_err *err)
{
    *out = (struct cw_hl7v2_node){text.ptr ? text.ptr : "", (uint32_t)text.len, 0, 0, 0, NULL};
    if (text.len > UINT32_MAX) return oom(err);
    if (d->esc && text.len && memchr(text.ptr, d->esc, text.len)) out->flags |= CW_HL7V2_NODE_ESC;
    if (level >= CW_HL7V2_SUB) return 0;
    char delim = hl7v2_delim_of(d, level + 1);
    size_t pieces = 1;
    for (size_t i = 0; delim && i < text.len; i++) pieces += text.ptr[i] == delim;
    if (pieces == 1) {
        struct cw_hl7v2_node inner;
        if (hl7v2_split(a, d, text, level + 1, &inner, err) < 0) return -1;
        out->n = inner.n;
        out->kind = inner.kind;
        out->kids = inner.kids;
        return 0;
    }
    if (pieces > CW_HL7V2_MAX_KIDS)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                          "more than %u pieces in one value", CW_HL7V2_MAX_KIDS);
    struct cw_hl7v2_node *k = cw_arena_array(a, pieces, sizeof *k);
    if (!k) return oom(err);
    size_t start = 0, idx = 0;
    for (size_t i = 0; i <= text.len; i++) {
        if (i == text.len || text.ptr[i] == delim) {
            if (hl7v2_split(a, d, (cw_slice){text.ptr + start, i - start}, level + 1, &k[idx++],
                            err) < 0)
                return -1;
            start = i + 1;
        }
    }
    out->n = (uint16_t)pieces;
    out->kind = (uint8_t)(level + 1);
    out->kids = k;
    return 0;
}

/* Update m->ascii / m->utf8 after bytes were added. */
static void note_bytes(struct cw_hl7v2_msg *m, cw_slice t)
{
    for (size_t i = 0; i < t.len; i++) {
        if ((unsigned char)t.ptr[i] >= 0x80) {
            m->ascii = false;
            if (hl7v2_utf8_valid_prefix((const unsigned char *)t.ptr, t.len) < t.len ||
                m->charset == CW_HL7V2_CS_LATIN1 || m->charset == CW_HL7V2_CS_LATIN9)
                m->utf8 = false;
            return;
        }
    }
}

/* Replace the node at path p by 'value' (already split at the right level). */
static int put(struct cw_arena *a, struct cw_hl7v2_msg *m, const struct cw_hl7v2_path *p,
               const struct cw_hl7v2_node *value, struct cw_err *err)
{
    char loc[CW_ERR_LOCATION_MAX];
    cw_hl7v2_path_format(p, loc, sizeof loc);
    cw_slice id = {p->seg, 3};
    if (p->field == 0)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_INVALID, loc,
                          "a field number is needed to set a value");
    if (hl7v2_is_header_id(id) && p->field <= 2)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_NOT_SUPPORTED, loc,
                          "MSH-1 and MSH-2 are fixed when the message is created");
    uint32_t si;
    if (!cw_hl7v2_seg_find(m, id, p->occ, &si))
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_NOT_FOUND, loc,
                          "no such segment occurrence (append it first)");
    if (value->len == 0 && !cw_hl7v2_lookup(m, p)) return 0;
    if ((p->rep > 1 && !m->delims.rep) || (p->sub > 1 && !m->delims.sub))
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_NOT_SUPPORTED, loc,
                          "the message has no delimiter for this level (MSH-2)");
    struct cw_hl7v2_node *chain[4];
    int depth = 0;
    struct cw_hl7v2_node *seg = &m->segs[si];
    if (ensure_kids(a, seg, CW_HL7V2_FIELD, p->field + 1, err) < 0) return -1;
    struct cw_hl7v2_node *n = &seg->kids[p->field];
    if (p->rep || p->comp) {
        uint32_t r = p->rep ? p->rep : 1;
        if (r > 1 || (n->n && n->kind == CW_HL7V2_REP)) {
            if (ensure_kids(a, n, CW_HL7V2_REP, r, err) < 0) return -1;
            chain[depth++] = n;
            n = &n->kids[r - 1];
        }
        if (p->comp) {
            if (p->comp > 1 || (n->n && n->kind == CW_HL7V2_COMP)) {
                if (ensure_kids(a, n, CW_HL7V2_COMP, p->comp, err) < 0) return -1;
                chain[depth++] = n;
                n = &n->kids[p->comp - 1];
            }
            if (p->sub && (p->sub > 1 || (n->n && n->kind == CW_HL7V2_SUB))) {
                if (ensure_kids(a, n, CW_HL7V2_SUB, p->sub, err) < 0) return -1;
                chain[depth++] = n;
                n = &n->kids[p->sub - 1];
            }
        }
    }
    /*
     * A value with kids at a level the target does not own (a component
     * holding "a&b" set where the node also stands for its field) keeps
     * its shape: split already produced the right kind for this level.
     */
    uint8_t keep = n->flags & CW_HL7V2_TERM_MASK;
    *n = *value;
    n->flags = (uint8_t)((n->flags & ~CW_HL7V2_TERM_MASK) | keep);
    while (depth > 0)
        if (rejoin(a, &m->delims, chain[--depth], false, err) < 0) return -1;
    if (rejoin(a, &m->delims, seg, hl7v2_is_header_id(id), err) < 0) return -1;
    return 0;
}

/* The level a path addresses (the level of the node being replaced). */
static int path_level(const struct cw_hl7v2_path *p)
{
    if (p->sub) return CW_HL7V2_SUB;
    if (p->comp) return CW_HL7V2_COMP;
    if (p->rep) return CW_HL7V2_REP;
    return CW_HL7V2_FIELD;
}

int cw_hl7v2_set(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice path, cw_slice text,
                 struct cw_err *err)
{
    struct cw_hl7v2_path p;
    if (cw_hl7v2_path_parse(path, &p, err) < 0) return -1;
    struct cw_buf b;
    cw_buf_init(&b, (size_t)UINT32_MAX);
    if (cw_hl7v2_escape(m, text, &b, err) < 0) {
        cw_buf_release(&b);
        char loc[CW_ERR_LOCATION_MAX];
        cw_hl7v2_path_format(&p, loc, sizeof loc);
        cw_err_at(err, loc);
        return -1;
    }
    cw_slice enc = b.len ? cw_arena_dup(a, cw_buf_slice(&b)) : CW_LIT("");
    cw_buf_release(&b);
    if (!enc.ptr) return oom(err);
    note_bytes(m, enc);
    struct cw_hl7v2_node v = {enc.ptr, (uint32_t)enc.len, 0, 0, 0, NULL};
    if (m->delims.esc && enc.len && memchr(enc.ptr, m->delims.esc, enc.len))
        v.flags |= CW_HL7V2_NODE_ESC;
    return put(a, m, &p, &v, err);
}

int cw_hl7v2_set_raw(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice path, cw_slice encoded,
                     struct cw_err *err)
{
    struct cw_hl7v2_path p;
    if (cw_hl7v2_path_parse(path, &p, err) < 0) return -1;
    int level = path_level(&p);
    const struct cw_hl7v2_delims *d = &m->delims;
    char loc[CW_ERR_LOCATION_MAX];
    cw_hl7v2_path_format(&p, loc, sizeof loc);
    for (size_t i = 0; i < encoded.len; i++) {
        char c = encoded.ptr[i];
        bool bad = c == '\r' || c == '\n' || c == d->field ||
                   (level >= CW_HL7V2_REP && d->rep && c == d->rep) ||
                   (level >= CW_HL7V2_COMP && d->comp && c == d->comp) ||
                   (level >= CW_HL7V2_SUB && d->sub && c == d->sub);
        if (bad)
            return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, loc,
                              "encoded value holds a delimiter of this level or above (byte %zu)",
                              i + 1);
    }
    cw_slice enc = encoded.len ? cw_arena_dup(a, encoded) : CW_LIT("");
    if (!enc.ptr) return oom(err);
    note_bytes(m, enc);
    struct cw_hl7v2_node v;
    if (hl7v2_split(a, d, enc, level, &v, err) < 0) return -1;
    return put(a, m, &p, &v, err);
}

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

static bool delims_ok(const struct cw_hl7v2_delims *d)
{
    const char c[6] = {d->field, d->comp, d->rep, d->esc, d->sub, d->trunc};
    for (int i = 0; i < 6; i++) {
        unsigned char x = (unsigned char)c[i];
        if (!x) {
            if (i < 2) return false; /* field and component separators are required */
            continue;
        }
        if (x <= 0x20 || x >= 0x7f || (x >= '0' && x <= '9') || (x >= 'A' && x <= 'Z') ||
            (x >= 'a' && x <= 'z'))
            return false;
        for (int j = 0; j < i; j++)
            if (c[j] == c[i]) return false;
    }
    /* no gaps: a later encoding character needs the earlier ones */
    for (int i = 2; i < 5; i++)
        if (!c[i] && c[i + 1]) return false;
    return true;
}

struct cw_hl7v2_msg *cw_hl7v2_new(struct cw_arena *a, const struct cw_hl7v2_delims *d,
                                  struct cw_err *err)
{
    struct cw_hl7v2_delims dd = d ? *d : CW_HL7V2_DELIMS_DEFAULT;
    if (!delims_ok(&dd)) {
        hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_INVALID, "MSH-2",
                   "delimiters must be distinct ASCII punctuation");
        return NULL;
    }
    struct cw_hl7v2_msg *m = cw_arena_zalloc(a, sizeof *m);
    char *t = cw_arena_alloc_bytes(a, 9);
    struct cw_hl7v2_node *segs = cw_arena_array(a, 8, sizeof *segs);
    struct cw_hl7v2_node *kids = cw_arena_array(a, 4, sizeof *kids);
    if (!m || !t || !segs || !kids) {
        oom(err);
        return NULL;
    }
    size_t n = 0;
    memcpy(t, "MSH", 3);
    n = 3;
    t[n++] = dd.field;
    const char enc[5] = {dd.comp, dd.rep, dd.esc, dd.sub, dd.trunc};
    size_t nenc = 0;
    while (nenc < 5 && enc[nenc]) t[n++] = enc[nenc++];
    kids[0] = (struct cw_hl7v2_node){t, 3, 0, 0, 0, NULL};
    kids[1] = (struct cw_hl7v2_node){t + 3, 1, 0, 0, 0, NULL};
    kids[2] = (struct cw_hl7v2_node){t + 4, (uint32_t)nenc, 0, 0, 0, NULL};
    segs[0] = (struct cw_hl7v2_node){
        t, (uint32_t)n, 3, CW_HL7V2_FIELD, CW_HL7V2_NODE_OWN | CW_HL7V2_TERM_CR, kids};
    m->src = (cw_slice){t, n};
    m->delims = dd;
    m->segs = segs;
    m->nsegs = 1;
    m->segs_cap = 8;
    m->charset = CW_HL7V2_CS_DEFAULT;
    m->ascii = true;
    m->utf8 = true;
    m->max_warnings = CW_HL7V2_DEFAULT_MAX_WARNINGS;
    return m;
}

/* Append segment node n (its text and kids already in the arena). Returns its index or -1. */
static long append_node(struct cw_arena *a, struct cw_hl7v2_msg *m, struct cw_hl7v2_node n,
                        struct cw_err *err)
{
    if (m->nsegs >= UINT32_MAX / 2) return oom(err);
    if (m->nsegs + 1 > m->segs_cap) {
        uint32_t cap = m->segs_cap ? m->segs_cap * 2 : cap_of(m->nsegs + 1);
        struct cw_hl7v2_node *s = cw_arena_array(a, cap, sizeof *s);
        if (!s) return oom(err);
        memcpy(s, m->segs, (size_t)m->nsegs * sizeof *s);
        m->segs = s;
        m->segs_cap = cap;
    }
    uint8_t term = CW_HL7V2_TERM_CR;
    if (m->nsegs) {
        /* the new segment ends the way the message ended; the old last one gets a terminator */
        struct cw_hl7v2_node *last = &m->segs[m->nsegs - 1];
        term = last->flags & CW_HL7V2_TERM_MASK;
        if (term == CW_HL7V2_TERM_NONE) {
            uint8_t first = m->segs[0].flags & CW_HL7V2_TERM_MASK;
            last->flags |= first ? first : CW_HL7V2_TERM_CR;
        }
    }
    n.flags = (uint8_t)((n.flags & ~CW_HL7V2_TERM_MASK) | term);
    m->segs[m->nsegs] = n;
    return (long)m->nsegs++;
}

static bool appendable_id(cw_slice id)
{
    return hl7v2_id_ok(id) && !hl7v2_is_header_id(id) && !hl7v2_is_batch_id(id);
}

long cw_hl7v2_seg_append(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice id,
                         struct cw_err *err)
{
    if (!appendable_id(id)) {
        hl7v2_fail(err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_INVALID, "",
                   "a segment ID is 3 uppercase letters or digits, and not MSH or a batch "
                   "segment");
        return -1;
    }
    char *t = cw_arena_strndup(a, id.ptr, 3);
    struct cw_hl7v2_node *kids = cw_arena_array(a, 4, sizeof *kids);
    if (!t || !kids) return oom(err);
    kids[0] = (struct cw_hl7v2_node){t, 3, 0, 0, 0, NULL};
    return append_node(
        a, m, (struct cw_hl7v2_node){t, 3, 1, CW_HL7V2_FIELD, CW_HL7V2_NODE_OWN, kids}, err);
}

long hl7v2_seg_append_line(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice line,
                           struct cw_err *err)
{
    for (size_t i = 0; i < line.len; i++)
        if (line.ptr[i] == '\r' || line.ptr[i] == '\n')
            return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_INVALID, "",
                              "a segment line may not hold CR or LF");
    if (line.len < 3 || !appendable_id((cw_slice){line.ptr, 3}) ||
        (line.len > 3 && line.ptr[3] != m->delims.field))
        return hl7v2_fail(err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_INVALID, "",
                          "a segment line starts with its ID and the field separator");
    cw_slice copy = cw_arena_dup(a, line);
    if (!copy.ptr) return oom(err);
    note_bytes(m, copy);
    struct cw_hl7v2_node n;
    if (hl7v2_split_segment(a, &m->delims, copy, &n, err) < 0) return -1;
    return append_node(a, m, n, err);
}

int cw_hl7v2_set_charset(struct cw_arena *a, struct cw_hl7v2_msg *m, cw_slice name,
                         struct cw_err *err)
{
    if (cw_hl7v2_set(a, m, CW_LIT("MSH-18"), name, err) < 0) return -1;
    m->charset = cw_hl7v2_charset_from_name(name);
    if (!m->ascii && (m->charset == CW_HL7V2_CS_LATIN1 || m->charset == CW_HL7V2_CS_LATIN9))
        m->utf8 = false;
    return 0;
}

int hl7v2_split_segment(struct cw_arena *a, const struct cw_hl7v2_delims *d, cw_slice line,
                        struct cw_hl7v2_node *out, struct cw_err *err)
{
    size_t nf = 1;
    for (size_t i = 0; i < line.len; i++) nf += line.ptr[i] == d->field;
    bool header = line.len >= 4 && hl7v2_is_header_id((cw_slice){line.ptr, 3});
    if (header) nf++; /* the separator itself is field 1 */
    if (nf > CW_HL7V2_MAX_KIDS)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "", "too many fields");
    struct cw_hl7v2_node *k = cw_arena_array(a, nf, sizeof *k);
    if (!k) return oom(err);
    size_t idx = 0, start = 0;
    for (size_t i = 0; i <= line.len; i++) {
        if (i < line.len && line.ptr[i] != d->field) continue;
        cw_slice piece = {line.ptr + start, i - start};
        if (header && idx == 1) {
            /* "MSH" then "|" (field 1) then the encoding characters (field 2), unsplit */
            k[idx++] = (struct cw_hl7v2_node){line.ptr + 3, 1, 0, 0, 0, NULL};
            k[idx++] = (struct cw_hl7v2_node){piece.ptr, (uint32_t)piece.len, 0, 0, 0, NULL};
        } else if (idx == 0) {
            k[idx++] = (struct cw_hl7v2_node){piece.ptr, (uint32_t)piece.len, 0, 0, 0, NULL};
        } else if (hl7v2_split(a, d, piece, CW_HL7V2_FIELD, &k[idx++], err) < 0) {
            return -1;
        }
        start = i + 1;
    }
    *out =
        (struct cw_hl7v2_node){line.ptr, (uint32_t)line.len, (uint16_t)idx, CW_HL7V2_FIELD, 0, k};
    return 0;
}
