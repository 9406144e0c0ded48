/*
 * validate.c — checking a parsed message against the HL7 v2 definitions.
 *
 * Spec: HL7 v2.5.1 chapter 2: 2.5.2 (segment usage: required, optional,
 * repeating, groups), 2.12 (message structures), 2.A (data types NM, SI,
 * DT, DTM, TS, TM, ID, IS), table 0357 (error codes 100-207). Definitions
 * come from the generated tables (dict.c).
 *
 * Segment order and group cardinality: the message structure is a tree of
 * groups, segments and choices, each with min (0/1) and max (1/unbounded).
 * The checker keeps a stack of open group instances and, for each segment,
 * looks for the nearest place where it may go: in the open innermost group
 * from its current child onwards (the current child may repeat), else in
 * the enclosing groups (which closes the inner ones; a repeating group may
 * start a new instance). A place is first searched "strictly" (without
 * skipping a required child that has not occurred); when that fails,
 * "loosely" (skipping it, which reports the required segment or group as
 * missing); when that fails too, the segment is out of place (100) and is
 * left out. Closing a group instance reports its required children that
 * never occurred. Z-segments may appear anywhere and are not checked.
 *
 * All issues are collected (up to a maximum), each with severity, v2 code
 * and a location in path syntax.
 */
#include "hl7v2/hl7v2_int.h"

#include <stdio.h>
#include <string.h>

struct vctx {
    struct cw_arena *a;
    const struct cw_hl7v2_msg *m;
    const struct hl7v2_dict_version *v;
    struct cw_hl7v2_issues *out;
    uint32_t max;
    bool oom;
    bool strict; /* CW_HL7V2_VALIDATE_STRICT */
};

__attribute__((format(printf, 5, 6))) static void issue(struct vctx *x, enum cw_severity sev,
                                                        enum cw_v2_error code, const char *loc,
                                                        const char *fmt, ...)
{
    struct cw_hl7v2_issues *o = x->out;
    if (o->n >= x->max) {
        o->dropped++;
        if (sev <= CW_SEV_ERROR)
            o->errors++;
        else
            o->warnings++;
        return;
    }
    if (!o->items) {
        o->items = cw_arena_array(x->a, x->max, sizeof *o->items);
        if (!o->items) {
            x->oom = true;
            o->dropped++;
            return;
        }
    }
    struct cw_err *e = &o->items[o->n++];
    cw_err_clear(e);
    va_list ap;
    va_start(ap, fmt);
    enum cw_issue is = CW_ISSUE_INVALID;
    switch (code) {
    case CW_V2_SEGMENT_SEQUENCE:
        is = CW_ISSUE_STRUCTURE;
        break;
    case CW_V2_REQUIRED_MISSING:
        is = CW_ISSUE_REQUIRED;
        break;
    case CW_V2_DATA_TYPE:
        is = CW_ISSUE_VALUE;
        break;
    case CW_V2_TABLE_VALUE:
        is = CW_ISSUE_CODE_INVALID;
        break;
    case CW_V2_VALUE_TOO_LONG:
        is = CW_ISSUE_TOO_LONG;
        break;
    case CW_V2_UNSUPPORTED_MESSAGE_TYPE:
    case CW_V2_UNSUPPORTED_EVENT:
    case CW_V2_UNSUPPORTED_PROCESSING_ID:
    case CW_V2_UNSUPPORTED_VERSION:
        is = CW_ISSUE_NOT_SUPPORTED;
        break;
    default:
        break;
    }
    cw_err_vset(e, is, fmt, ap);
    va_end(ap);
    e->severity = sev;
    e->v2_code = code;
    cw_err_at(e, loc ? loc : "");
    if (sev <= CW_SEV_ERROR)
        o->errors++;
    else
        o->warnings++;
}

static cw_slice dstr(uint32_t off)
{
    return cw_slice_cstr(hl7v2_str(off));
}

static const struct hl7v2_dict_node *node_at(uint32_t i)
{
    return &hl7v2_dict_nodes[i];
}

static const struct hl7v2_dict_node *kid(const struct hl7v2_dict_node *g, uint32_t j)
{
    return &hl7v2_dict_nodes[g->first + j];
}

/* ------------------------------------------------------------------ */
/* Structure                                                           */
/* ------------------------------------------------------------------ */

#define MAX_DEPTH 32

struct frame {
    uint32_t node;  /* group node index */
    uint32_t child; /* current child */
    uint32_t cnt;   /* occurrences of the current child in this instance */
};

struct walk {
    struct vctx *x;
    struct frame f[MAX_DEPTH];
    int depth;          /* frames in use */
    uint32_t seg_index; /* message segment being placed, for messages */
};

static bool is_wild(const struct hl7v2_dict_node *n)
{
    return strlen(hl7v2_str(n->name)) != 3; /* "GenericSegment" in the 2.3 definitions */
}

/* Can node n start with segment id? loose: required children may be skipped. */
static bool can_start(const struct hl7v2_dict_node *n, cw_slice id, bool loose, int depth)
{
    if (depth > MAX_DEPTH) return false;
    switch (n->kind) {
    case HL7V2_NODE_SEG:
        return is_wild(n) || cw_slice_eq(dstr(n->name), id);
    case HL7V2_NODE_CHOICE:
        for (uint32_t j = 0; j < n->count; j++)
            if (cw_slice_eq(dstr(kid(n, j)->name), id)) return true;
        return false;
    default:
        for (uint32_t j = 0; j < n->count; j++) {
            const struct hl7v2_dict_node *c = kid(n, j);
            if (can_start(c, id, loose, depth + 1)) return true;
            if (c->min && !loose) return false;
        }
        return false;
    }
}

/* The first segment ID a node stands for (for messages about missing groups). */
static const char *first_seg(const struct hl7v2_dict_node *n, int depth)
{
    if (n->kind == HL7V2_NODE_SEG || depth > MAX_DEPTH) return hl7v2_str(n->name);
    if (n->count == 0) return hl7v2_str(n->name);
    for (uint32_t j = 0; j < n->count; j++)
        if (kid(n, j)->min) return first_seg(kid(n, j), depth + 1);
    return first_seg(kid(n, 0), depth + 1);
}

static void missing(struct walk *w, const struct hl7v2_dict_node *group,
                    const struct hl7v2_dict_node *c)
{
    const char *seg = first_seg(c, 0);
    char loc[8] = "";
    if (strlen(seg) == 3) snprintf(loc, sizeof loc, "%s", seg);
    const char *where =
        w->seg_index < w->x->m->nsegs ? "before segment" : "at the end, after segment";
    uint32_t at = w->seg_index < w->x->m->nsegs ? w->seg_index + 1 : w->x->m->nsegs;
    if (c->kind == HL7V2_NODE_SEG)
        issue(w->x, CW_SEV_ERROR, CW_V2_SEGMENT_SEQUENCE, loc,
              "required segment %s is missing in %s (%s %u)", hl7v2_str(c->name),
              hl7v2_str(group->name), where, at);
    else
        issue(w->x, CW_SEV_ERROR, CW_V2_SEGMENT_SEQUENCE, loc,
              "required %s %s is missing in %s (%s %u)",
              c->kind == HL7V2_NODE_GROUP ? "group" : "choice", hl7v2_str(c->name),
              hl7v2_str(group->name), where, at);
}

/* Close frame k's instance: its current child and later ones must meet their min. */
static void close_frame(struct walk *w, int k)
{
    const struct frame *f = &w->f[k];
    const struct hl7v2_dict_node *g = node_at(f->node);
    for (uint32_t j = f->child; j < g->count; j++) {
        const struct hl7v2_dict_node *c = kid(g, j);
        uint32_t cnt = j == f->child ? f->cnt : 0;
        if (cnt < c->min) missing(w, g, c);
    }
}

/* Move frame k from its current child to child j (> current), checking what is passed. */
static void advance(struct walk *w, int k, uint32_t j)
{
    struct frame *f = &w->f[k];
    const struct hl7v2_dict_node *g = node_at(f->node);
    for (uint32_t i = f->child; i < j; i++) {
        const struct hl7v2_dict_node *c = kid(g, i);
        uint32_t cnt = i == f->child ? f->cnt : 0;
        if (cnt < c->min) missing(w, g, c);
    }
    f->child = j;
    f->cnt = 0;
}

/* Find where id goes: frame level *lk, child *lj. */
static bool find(const struct walk *w, cw_slice id, bool loose, int *lk, uint32_t *lj)
{
    for (int k = w->depth - 1; k >= 0; k--) {
        const struct frame *f = &w->f[k];
        const struct hl7v2_dict_node *g = node_at(f->node);
        for (uint32_t j = f->child; j < g->count; j++) {
            const struct hl7v2_dict_node *c = kid(g, j);
            uint32_t cnt = j == f->child ? f->cnt : 0;
            bool room = c->max == 0 || cnt < c->max;
            if (room && can_start(c, id, loose, 0)) {
                *lk = k;
                *lj = j;
                return true;
            }
            if (!loose && cnt < c->min) return false;
        }
    }
    return false;
}

/* Enter group node gi (a new instance) and descend to the place of id. */
static void enter(struct walk *w, uint32_t gi, cw_slice id, bool loose)
{
    for (;;) {
        if (w->depth >= MAX_DEPTH) return;
        w->f[w->depth++] = (struct frame){gi, 0, 0};
        struct frame *f = &w->f[w->depth - 1];
        const struct hl7v2_dict_node *g = node_at(gi);
        uint32_t j = 0;
        while (j < g->count && !can_start(kid(g, j), id, loose, 0)) j++;
        if (j == g->count) return; /* cannot happen: can_start(g) held */
        advance(w, w->depth - 1, j);
        f->cnt = 1;
        const struct hl7v2_dict_node *c = kid(g, j);
        if (c->kind != HL7V2_NODE_GROUP) return;
        gi = g->first + j;
    }
}

static void place(struct walk *w, int k, uint32_t j, cw_slice id, bool loose)
{
    while (w->depth - 1 > k) close_frame(w, --w->depth);
    struct frame *f = &w->f[k];
    if (j != f->child) advance(w, k, j);
    f->cnt++;
    const struct hl7v2_dict_node *g = node_at(f->node);
    const struct hl7v2_dict_node *c = kid(g, j);
    if (c->kind == HL7V2_NODE_GROUP) enter(w, g->first + j, id, loose);
}

static void check_structure(struct vctx *x, const struct hl7v2_dict_msg *dm)
{
    struct walk w;
    memset(&w, 0, sizeof w);
    w.x = x;
    w.f[0] = (struct frame){dm->root, 0, 0};
    w.depth = 1;
    const struct cw_hl7v2_msg *m = x->m;
    for (uint32_t i = 0; i < m->nsegs; i++) {
        cw_slice id = cw_hl7v2_seg_id(&m->segs[i]);
        w.seg_index = i;
        if (id.len == 3 && id.ptr[0] == 'Z') continue;
        int k;
        uint32_t j;
        if (find(&w, id, false, &k, &j)) {
            place(&w, k, j, id, false);
            continue;
        }
        if (find(&w, id, true, &k, &j)) {
            place(&w, k, j, id, true);
            continue;
        }
        char loc[CW_ERR_LOCATION_MAX];
        hl7v2_loc(loc, sizeof loc, id, hl7v2_occurrence(m, i), 0, 0, 0, 0);
        /* repeated beyond its maximum, or not part of the structure at all? */
        bool repeat = false;
        for (int d = 0; d < w.depth && !repeat; d++) {
            const struct hl7v2_dict_node *g = node_at(w.f[d].node);
            if (w.f[d].child >= g->count) continue;
            const struct hl7v2_dict_node *c = kid(g, w.f[d].child);
            repeat = c->kind == HL7V2_NODE_SEG && c->max == 1 && w.f[d].cnt >= 1 &&
                     cw_slice_eq(dstr(c->name), id);
        }
        if (!hl7v2_id_ok(id))
            issue(x, CW_SEV_ERROR, CW_V2_SEGMENT_SEQUENCE, "",
                  "segment %u has a malformed segment ID", i + 1);
        else if (repeat)
            issue(x, CW_SEV_ERROR, CW_V2_SEGMENT_SEQUENCE, loc,
                  "segment %.3s occurs more often than the structure %s allows here", id.ptr,
                  hl7v2_str(dm->name));
        else
            issue(x, CW_SEV_ERROR, CW_V2_SEGMENT_SEQUENCE, loc,
                  "segment %.3s is not expected here in structure %s", id.ptr, hl7v2_str(dm->name));
    }
    w.seg_index = m->nsegs;
    while (w.depth > 0) close_frame(&w, --w.depth);
}

/* ------------------------------------------------------------------ */
/* Data types                                                          */
/* ------------------------------------------------------------------ */

static bool digits(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static unsigned num2(const char *s)
{
    return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

static bool nm_ok(cw_slice v)
{
    size_t i = 0;
    if (i < v.len && (v.ptr[i] == '+' || v.ptr[i] == '-')) i++;
    size_t d1 = 0, d2 = 0;
    while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9') i++, d1++;
    if (i < v.len && v.ptr[i] == '.') {
        i++;
        while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9') i++, d2++;
    }
    return i == v.len && d1 + d2 > 0;
}

/* [+/-ZZZZ] at the end of s..n starting at i */
static bool tz_ok(const char *s, size_t n, size_t i)
{
    if (i == n) return true;
    if (s[i] != '+' && s[i] != '-') return false;
    if (n - i != 5 || !digits(s + i + 1, 4)) return false;
    return num2(s + i + 1) <= 14 && num2(s + i + 3) <= 59;
}

/* HH[MM[SS[.S{1,4}]]] at s..n from i; returns position after it or (size_t)-1 */
static size_t time_part(const char *s, size_t n, size_t i, bool hour_required)
{
    if (i == n || s[i] == '+' || s[i] == '-') return hour_required ? (size_t)-1 : i;
    if (n - i < 2 || !digits(s + i, 2) || num2(s + i) > 23) return (size_t)-1;
    i += 2;
    if (i < n && s[i] >= '0' && s[i] <= '9') {
        if (n - i < 2 || !digits(s + i, 2) || num2(s + i) > 59) return (size_t)-1;
        i += 2;
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            if (n - i < 2 || !digits(s + i, 2) || num2(s + i) > 60) return (size_t)-1;
            i += 2;
            if (i < n && s[i] == '.') {
                size_t d = 0;
                i++;
                while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
                if (d < 1 || d > 4) return (size_t)-1;
            }
        }
    }
    return i;
}

static bool leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY[MM[DD]] from the start; returns the length used or (size_t)-1 */
static size_t date_part(const char *s, size_t n)
{
    if (n < 4 || !digits(s, 4)) return (size_t)-1;
    unsigned y = num2(s) * 100 + num2(s + 2);
    size_t i = 4;
    if (i < n && s[i] >= '0' && s[i] <= '9') {
        if (n - i < 2 || !digits(s + i, 2)) return (size_t)-1;
        unsigned mo = num2(s + i);
        if (mo < 1 || mo > 12) return (size_t)-1;
        i += 2;
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            if (n - i < 2 || !digits(s + i, 2)) return (size_t)-1;
            unsigned d = num2(s + i);
            static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            if (d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap(y))) return (size_t)-1;
            i += 2;
        }
    }
    return i;
}

static bool dt_ok(cw_slice v)
{
    size_t i = date_part(v.ptr, v.len);
    return i == v.len;
}

static bool dtm_ok(cw_slice v)
{
    size_t i = date_part(v.ptr, v.len);
    if (i == (size_t)-1) return false;
    if (i == 8) {
        i = time_part(v.ptr, v.len, i, false);
        if (i == (size_t)-1) return false;
    }
    return tz_ok(v.ptr, v.len, i);
}

static bool tm_ok(cw_slice v)
{
    size_t i = time_part(v.ptr, v.len, 0, true);
    return i != (size_t)-1 && tz_ok(v.ptr, v.len, i);
}

static bool code_ok(cw_slice v)
{
    if (v.len == 0) return true;
    if (v.ptr[0] == ' ' || v.ptr[v.len - 1] == ' ') return false;
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.ptr[i] < 0x20 || (unsigned char)v.ptr[i] == 0x7f) return false;
    return true;
}

/* Which primitive syntax a data type name asks for. */
enum prim { P_NONE, P_NM, P_SI, P_DT, P_DTM, P_TM, P_ID, P_IS };

static enum prim prim_of(const char *t)
{
    if (!strcmp(t, "NM")) return P_NM;
    if (!strcmp(t, "SI")) return P_SI;
    if (!strcmp(t, "DT")) return P_DT;
    if (!strcmp(t, "DTM")) return P_DTM;
    if (!strcmp(t, "TM")) return P_TM;
    if (!strcmp(t, "ID")) return P_ID;
    if (!strcmp(t, "IS")) return P_IS;
    return P_NONE;
}

static const char *prim_name(enum prim p)
{
    static const char *const names[] = {"", "NM", "SI", "DT", "DTM", "TM", "ID", "IS"};
    return names[p];
}

/* Where a value sits, for locations. */
struct at {
    cw_slice seg;
    uint32_t occ, field, rep, comp, sub;
};

static void loc_of(const struct at *p, char *buf, size_t size)
{
    hl7v2_loc(buf, size, p->seg, p->occ, p->field, p->rep, p->comp, p->sub);
}

static bool is_null(const struct cw_hl7v2_node *n)
{
    return n->len == 2 && n->ptr[0] == '"' && n->ptr[1] == '"';
}

static void check_primitive(struct vctx *x, enum prim p, const struct hl7v2_dict_field *fd,
                            const struct cw_hl7v2_node *n, const struct at *pos, bool ts)
{
    char loc[CW_ERR_LOCATION_MAX];
    cw_slice v = cw_hl7v2_text(n);
    bool ok = true;
    switch (p) {
    case P_NM:
        ok = nm_ok(v);
        break;
    case P_SI:
        ok = digits(v.ptr, v.len);
        break;
    case P_DT:
        ok = dt_ok(v);
        break;
    case P_DTM:
        ok = dtm_ok(v);
        break;
    case P_TM:
        ok = tm_ok(v);
        break;
    case P_ID:
    case P_IS:
        ok = code_ok(v);
        break;
    default:
        break;
    }
    if (!ok) {
        loc_of(pos, loc, sizeof loc);
        issue(x, CW_SEV_ERROR, CW_V2_DATA_TYPE, loc, "value is not a valid %s (%s)",
              ts ? "TS" : prim_name(p),
              p == P_NM    ? "a number: optional sign, digits, optional decimal point"
              : p == P_SI  ? "a non-negative integer"
              : p == P_DT  ? "YYYY[MM[DD]]"
              : p == P_TM  ? "HH[MM[SS[.S]]][+/-ZZZZ]"
              : p == P_DTM ? "YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]"
                           : "a code without surrounding spaces or control characters");
        return;
    }
    if ((p == P_ID || p == P_IS) && fd && fd->table && v.len && !(n->flags & CW_HL7V2_NODE_ESC)) {
        const struct hl7v2_dict_table *t = hl7v2_dict_table(fd->table);
        if (t && t->count && !hl7v2_dict_table_has(t, v)) {
            loc_of(pos, loc, sizeof loc);
            issue(x, p == P_ID && x->strict ? CW_SEV_ERROR : CW_SEV_WARNING, CW_V2_TABLE_VALUE, loc,
                  "value is not in HL7 table %04u", fd->table);
        }
    }
}

/*
 * Check value n of data type 'type' (global type index). level: the tree
 * level n sits at (REP for a field occurrence, COMP for a component,
 * SUB for a subcomponent); its parts are one level down.
 */
static void check_value(struct vctx *x, uint16_t type, const struct hl7v2_dict_field *fd,
                        const struct cw_hl7v2_node *n, int level, struct at pos, int depth)
{
    if (!n || n->len == 0 || is_null(n) || depth > 4) return;
    const struct hl7v2_dict_type *t = hl7v2_dict_type_at(x->v, type);
    if (!t) return;
    const char *tname = hl7v2_str(t->name);
    char loc[CW_ERR_LOCATION_MAX];
    bool ts = !strcmp(tname, "TS");
    if (t->count == 0) {
        enum prim p = prim_of(tname);
        if (p == P_NONE) return;
        if (n->n) {
            loc_of(&pos, loc, sizeof loc);
            issue(x, CW_SEV_ERROR, CW_V2_DATA_TYPE, loc,
                  "a %s value has components or subcomponents", tname);
            return;
        }
        check_primitive(x, p, fd, n, &pos, false);
        return;
    }
    if (level >= CW_HL7V2_SUB) return; /* no level left for its parts */
    int kl = level + 1;
    uint32_t have = kl == CW_HL7V2_COMP ? cw_hl7v2_comp_count(n) : cw_hl7v2_sub_count(n);
    for (uint32_t c = 1; c <= t->count && c <= have + 1; c++) {
        const struct hl7v2_dict_field *cd = &hl7v2_dict_fields[t->first + c - 1];
        const struct cw_hl7v2_node *cn =
            kl == CW_HL7V2_COMP ? cw_hl7v2_comp(n, c) : cw_hl7v2_sub(n, c);
        struct at cp = pos;
        if (kl == CW_HL7V2_COMP)
            cp.comp = c;
        else
            cp.sub = c;
        bool empty = !cn || cn->len == 0;
        if (empty) {
            if (cd->opt == HL7V2_OPT_R) {
                loc_of(&cp, loc, sizeof loc);
                issue(x, CW_SEV_WARNING, CW_V2_REQUIRED_MISSING, loc,
                      "required component %u (%s) of %s is empty", c, hl7v2_str(cd->desc), tname);
            }
            continue;
        }
        if (ts && c == 1) {
            /* TS: the first part is a DTM whatever the version calls it */
            if (!is_null(cn) && cn->n == 0) check_primitive(x, P_DTM, NULL, cn, &cp, true);
            continue;
        }
        if (cd->len && cd->len < 65535 && cn->len > cd->len) {
            loc_of(&cp, loc, sizeof loc);
            issue(x, x->strict ? CW_SEV_ERROR : CW_SEV_WARNING, CW_V2_VALUE_TOO_LONG, loc,
                  "component is %u bytes long, at most %u allowed", (unsigned)cn->len, cd->len);
        }
        check_value(x, cd->type, cd, cn, kl, cp, depth + 1);
    }
}

static uint16_t type_by_name(const struct hl7v2_dict_version *v, cw_slice name)
{
    for (uint32_t i = 0; i < v->ntypes; i++)
        if (cw_slice_eq(dstr(v->types[i].name), name)) return (uint16_t)i;
    return UINT16_MAX;
}

static void check_segment(struct vctx *x, uint32_t si)
{
    const struct cw_hl7v2_node *s = &x->m->segs[si];
    cw_slice id = cw_hl7v2_seg_id(s);
    if (!hl7v2_id_ok(id) || id.ptr[0] == 'Z') return;
    const struct hl7v2_dict_seg *sd = hl7v2_dict_seg(x->v, id);
    if (!sd) return; /* reported by the structure check */
    bool header = hl7v2_is_header_id(id);
    struct at pos = {id, hl7v2_occurrence(x->m, si), 0, 0, 0, 0};
    char loc[CW_ERR_LOCATION_MAX];
    uint32_t nf = cw_hl7v2_field_count(s);
    uint16_t obx5_type = UINT16_MAX;
    if (cw_slice_eq_cstr(id, "OBX")) {
        cw_slice vt = cw_hl7v2_text(cw_hl7v2_comp(cw_hl7v2_rep(cw_hl7v2_field(s, 2), 1), 1));
        if (vt.len) obx5_type = type_by_name(x->v, vt);
    }
    for (uint32_t f = 1; f <= nf || f <= sd->count; f++) {
        const struct cw_hl7v2_node *fn = cw_hl7v2_field(s, f);
        pos.field = f;
        pos.rep = pos.comp = pos.sub = 0;
        if (header && f <= 2) continue;
        bool empty = !fn || fn->len == 0;
        if (f > sd->count) {
            if (!empty) {
                loc_of(&pos, loc, sizeof loc);
                issue(x, CW_SEV_WARNING, CW_V2_DATA_TYPE, loc,
                      "field %u is not defined for %.3s in version %s", f, id.ptr, x->v->name);
            }
            continue;
        }
        const struct hl7v2_dict_field *fd = &hl7v2_dict_fields[sd->first + f - 1];
        if (empty) {
            if (fd->opt == HL7V2_OPT_R) {
                loc_of(&pos, loc, sizeof loc);
                issue(x, CW_SEV_ERROR, CW_V2_REQUIRED_MISSING, loc,
                      "required field %.3s-%u (%s) is missing", id.ptr, f, hl7v2_str(fd->desc));
            }
            continue;
        }
        if (is_null(fn)) continue;
        uint32_t reps = cw_hl7v2_rep_count(fn);
        if ((fd->rep == 1 && reps > 1) || (fd->rep > 1 && reps > fd->rep)) {
            loc_of(&pos, loc, sizeof loc);
            issue(x, CW_SEV_ERROR, CW_V2_DATA_TYPE, loc,
                  "field repeats %u times, at most %u allowed", reps, fd->rep);
        }
        uint16_t type = fd->type;
        const char *tname = hl7v2_str(hl7v2_dict_type_at(x->v, type)->name);
        bool varies = !strcmp(tname, "VARIES") || !strcmp(tname, "varies") || !strcmp(tname, "*");
        if (varies) {
            if (obx5_type == UINT16_MAX || f != 5) continue;
            type = obx5_type;
        }
        for (uint32_t r = 1; r <= reps; r++) {
            const struct cw_hl7v2_node *rn = cw_hl7v2_rep(fn, r);
            pos.rep = reps > 1 ? r : 0;
            if (!varies && fd->len && fd->len < 65535 && rn->len > fd->len) {
                loc_of(&pos, loc, sizeof loc);
                issue(x, x->strict ? CW_SEV_ERROR : CW_SEV_WARNING, CW_V2_VALUE_TOO_LONG, loc,
                      "value is %u bytes long, at most %u allowed", (unsigned)rn->len, fd->len);
            }
            check_value(x, type, varies ? NULL : fd, rn, CW_HL7V2_REP, pos, 0);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

static bool z_code(cw_slice s)
{
    return s.len && s.ptr[0] == 'Z';
}

int cw_hl7v2_validate(struct cw_arena *a, const struct cw_hl7v2_msg *m,
                      const struct cw_hl7v2_validate_opts *opts, struct cw_hl7v2_issues *out,
                      struct cw_err *err)
{
    memset(out, 0, sizeof *out);
    struct vctx x = {a,
                     m,
                     NULL,
                     out,
                     opts && opts->max_issues ? opts->max_issues : 200,
                     false,
                     opts && (opts->flags & CW_HL7V2_VALIDATE_STRICT)};
    cw_slice ver = opts && opts->version.len ? opts->version : cw_slice_trim(hl7v2_msh(m, 12, 1));
    bool fallback = false;
    x.v = hl7v2_dict_version(ver, &fallback);
    if (!x.v) {
        if (ver.len == 0)
            issue(&x, CW_SEV_ERROR, CW_V2_REQUIRED_MISSING, "MSH-12",
                  "MSH-12 (version) is missing; checked as 2.5.1");
        else
            issue(&x, CW_SEV_ERROR, CW_V2_UNSUPPORTED_VERSION, "MSH-12",
                  "version in MSH-12 is not 2.1-2.8; checked as 2.5.1");
        x.v = hl7v2_dict_version(CW_LIT("2.5.1"), NULL);
        if (!x.v)
            return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_EXCEPTION, "", "no 2.5.1 definitions");
    }

    /* message structure from MSH-9 */
    cw_slice type = cw_slice_trim(hl7v2_msh(m, 9, 1));
    cw_slice event = cw_slice_trim(hl7v2_msh(m, 9, 2));
    cw_slice structure = cw_slice_trim(hl7v2_msh(m, 9, 3));
    const struct hl7v2_dict_msg *dm = NULL;
    char key[64];
    if (structure.len && structure.len < 32) dm = hl7v2_dict_msg(x.v, structure);
    if (!dm && type.len && type.len < 16 && event.len < 16) {
        snprintf(key, sizeof key, "%.*s_%.*s", CW_SLICE_FMT(type), CW_SLICE_FMT(event));
        if (event.len) dm = hl7v2_dict_msg(x.v, cw_slice_cstr(key));
        if (!dm) dm = hl7v2_dict_msg(x.v, type);
    }
    if (!dm) {
        if (!type.len) {
            /* reported as a required field by check_segment */
        } else {
            bool known_type = false;
            for (uint32_t i = 0; i < x.v->nmsgs && !known_type && type.len < 16; i++) {
                const char *n = hl7v2_str(x.v->msgs[i].name);
                known_type = strncmp(n, type.ptr, type.len) == 0 &&
                             (n[type.len] == '_' || n[type.len] == '\0');
            }
            enum cw_severity sev = z_code(type) || z_code(event) ? CW_SEV_WARNING : CW_SEV_ERROR;
            if (known_type)
                issue(&x, sev, CW_V2_UNSUPPORTED_EVENT, "MSH-9.2",
                      "no message structure for this event in version %s", x.v->name);
            else
                issue(&x, sev, CW_V2_UNSUPPORTED_MESSAGE_TYPE, "MSH-9.1",
                      "unknown message type for version %s", x.v->name);
        }
    } else {
        check_structure(&x, dm);
    }
    for (uint32_t i = 0; i < m->nsegs; i++) check_segment(&x, i);
    if (x.oom) return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "", "arena exhausted");
    (void)fallback;
    return 0;
}
