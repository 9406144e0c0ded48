/*
 * fhir_term.c — code systems, value sets and concept maps from the core
 * tables: lookup, subsumption, value set membership and expansion of
 * compose rules (valueset.html "Value Set Composition", codesystem.html
 * "hierarchyMeaning is-a").
 *
 * Owns: nothing (static tables). Thread-safe; no allocation.
 *
 * Membership is three-valued (cw_fhir_member): a value set that draws on
 * a code system we do not hold (LOINC, SNOMED CT, UCUM, ...) or uses a
 * filter we do not evaluate answers UNKNOWN, never a guess. Recursion
 * through included value sets is bounded (VS_DEPTH); hierarchy walks are
 * bounded (HIER_MAX) so cyclic data cannot hang a caller.
 */
#include <ctype.h>
#include <string.h>

#include "fhir/fhir_int.h"

#define SET      (&cw_fhir_base_set)
#define VS_DEPTH 8
#define HIER_MAX 512

/* ---- code systems ---- */

static fd_str cs_url_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->css[i].url;
}
static fd_str vs_url_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->vss[i].url;
}
static fd_str cm_url_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->cms[i].url;
}
static fd_str concept_code_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->concepts[i].code;
}

static const struct fd_cs *cs_rec(struct cw_fhir_cs cs)
{
    return cs.set && cs.i < cs.set->n_css ? &cs.set->css[cs.i] : NULL;
}

struct cw_fhir_cs cw_fhir_cs_find(cw_slice url)
{
    uint32_t i = fhir_bsearch(SET, SET->cs_by_url, fhir_canonical_url(url), cs_url_key);
    return i == FD_NONE ? (struct cw_fhir_cs){NULL, 0} : (struct cw_fhir_cs){SET, i};
}

size_t cw_fhir_cs_count(void)
{
    return SET->n_css;
}

struct cw_fhir_cs cw_fhir_cs_at(size_t i)
{
    return i < SET->n_css ? (struct cw_fhir_cs){SET, (uint32_t)i} : (struct cw_fhir_cs){NULL, 0};
}

cw_slice cw_fhir_cs_url(struct cw_fhir_cs cs)
{
    const struct fd_cs *r = cs_rec(cs);
    return r ? fhir_str(cs.set, r->url) : (cw_slice){"", 0};
}

cw_slice cw_fhir_cs_name(struct cw_fhir_cs cs)
{
    const struct fd_cs *r = cs_rec(cs);
    return r ? fhir_str(cs.set, r->name) : (cw_slice){"", 0};
}

enum cw_fhir_cs_content cw_fhir_cs_content(struct cw_fhir_cs cs)
{
    const struct fd_cs *r = cs_rec(cs);
    return r ? (enum cw_fhir_cs_content)r->content : (enum cw_fhir_cs_content)0;
}

bool cw_fhir_cs_case_sensitive(struct cw_fhir_cs cs)
{
    const struct fd_cs *r = cs_rec(cs);
    return r && r->case_sensitive != 0;
}

size_t cw_fhir_cs_concept_count(struct cw_fhir_cs cs)
{
    const struct fd_cs *r = cs_rec(cs);
    return r ? r->count : 0;
}

static void concept_out(const struct cw_fhir_set *s, uint32_t ci, struct cw_fhir_concept *out)
{
    if (!out) return;
    const struct fd_concept *c = &s->concepts[ci];
    out->code = fhir_str(s, c->code);
    out->display = fhir_str(s, c->display);
    out->flags = c->flags;
}

int cw_fhir_cs_concept_at(struct cw_fhir_cs cs, size_t i, struct cw_fhir_concept *out)
{
    const struct fd_cs *r = cs_rec(cs);
    if (!r || i >= r->count) return -1;
    concept_out(cs.set, r->first + (uint32_t)i, out);
    return 0;
}

/* Concept index of code in cs, or FD_NONE. */
static uint32_t cs_find_code(const struct cw_fhir_set *s, const struct fd_cs *r, cw_slice code)
{
    uint32_t ci = fhir_bsearch(s, r->sorted, code, concept_code_key);
    if (ci != FD_NONE || r->case_sensitive != 0) return ci;
    /* caseSensitive = false: compare without case */
    for (uint32_t k = 0; k < r->count; k++)
        if (cw_slice_eq_nocase(code, fhir_str(s, s->concepts[r->first + k].code)))
            return r->first + k;
    return FD_NONE;
}

int cw_fhir_cs_lookup(struct cw_fhir_cs cs, cw_slice code, struct cw_fhir_concept *out)
{
    const struct fd_cs *r = cs_rec(cs);
    if (!r) return -1;
    uint32_t ci = cs_find_code(cs.set, r, code);
    if (ci == FD_NONE) return -1;
    concept_out(cs.set, ci, out);
    return 0;
}

/* Is concept a equal to or below concept b? Breadth-first over parents. */
static bool concept_is_a(const struct cw_fhir_set *s, uint32_t a, uint32_t b)
{
    uint32_t queue[64];
    uint32_t head = 0, tail = 0, steps = 0;
    queue[tail++] = a;
    while (head < tail && steps++ < HIER_MAX) {
        uint32_t c = queue[head++];
        if (c == b) return true;
        const struct fd_concept *r = &s->concepts[c];
        if (r->parent != FD_NONE && tail < 64) queue[tail++] = r->parent;
        uint32_t n = fhir_list_len(s, r->parents2);
        for (uint32_t k = 0; k < n && tail < 64; k++)
            queue[tail++] = fhir_list_at(s, r->parents2, k);
        if (head == tail || tail == 64) {
            /* compact the queue so long chains keep going */
            uint32_t m = tail - head;
            memmove(queue, queue + head, m * sizeof queue[0]);
            head = 0;
            tail = m;
        }
    }
    return false;
}

bool cw_fhir_cs_subsumes(struct cw_fhir_cs cs, cw_slice b, cw_slice a)
{
    const struct fd_cs *r = cs_rec(cs);
    if (!r) return false;
    uint32_t ia = cs_find_code(cs.set, r, a), ib = cs_find_code(cs.set, r, b);
    if (ia == FD_NONE || ib == FD_NONE) return false;
    return concept_is_a(cs.set, ia, ib);
}

/* ---- value sets ---- */

static const struct fd_vs *vs_rec(struct cw_fhir_vs vs)
{
    return vs.set && vs.i < vs.set->n_vss ? &vs.set->vss[vs.i] : NULL;
}

struct cw_fhir_vs cw_fhir_vs_find(cw_slice url)
{
    uint32_t i = fhir_bsearch(SET, SET->vs_by_url, fhir_canonical_url(url), vs_url_key);
    return i == FD_NONE ? (struct cw_fhir_vs){NULL, 0} : (struct cw_fhir_vs){SET, i};
}

size_t cw_fhir_vs_count(void)
{
    return SET->n_vss;
}

struct cw_fhir_vs cw_fhir_vs_at(size_t i)
{
    return i < SET->n_vss ? (struct cw_fhir_vs){SET, (uint32_t)i} : (struct cw_fhir_vs){NULL, 0};
}

cw_slice cw_fhir_vs_url(struct cw_fhir_vs vs)
{
    const struct fd_vs *r = vs_rec(vs);
    return r ? fhir_str(vs.set, r->url) : (cw_slice){"", 0};
}

cw_slice cw_fhir_vs_name(struct cw_fhir_vs vs)
{
    const struct fd_vs *r = vs_rec(vs);
    return r ? fhir_str(vs.set, r->name) : (cw_slice){"", 0};
}

static enum cw_fhir_member vs_member(const struct cw_fhir_set *s, uint32_t vi, cw_slice system,
                                     cw_slice code, cw_slice *display, int depth);

/* One filter of a rule, for concept ci of code system r. */
static enum cw_fhir_member filter_match(const struct cw_fhir_set *s, const struct fd_cs *r,
                                        uint32_t ci, cw_slice prop, cw_slice op, cw_slice value)
{
    bool concept_prop = cw_slice_eq(prop, CW_LIT("concept")) || cw_slice_eq(prop, CW_LIT("code"));
    if (concept_prop &&
        (cw_slice_eq(op, CW_LIT("is-a")) || cw_slice_eq(op, CW_LIT("descendent-of")) ||
         cw_slice_eq(op, CW_LIT("is-not-a")) || cw_slice_eq(op, CW_LIT("generalizes")))) {
        uint32_t vi = cs_find_code(s, r, value);
        if (vi == FD_NONE)
            return cw_slice_eq(op, CW_LIT("is-not-a")) ? CW_FHIR_MEMBER_YES : CW_FHIR_MEMBER_NO;
        bool below = concept_is_a(s, ci, vi);
        if (cw_slice_eq(op, CW_LIT("is-a"))) return below ? CW_FHIR_MEMBER_YES : CW_FHIR_MEMBER_NO;
        if (cw_slice_eq(op, CW_LIT("descendent-of")))
            return below && ci != vi ? CW_FHIR_MEMBER_YES : CW_FHIR_MEMBER_NO;
        if (cw_slice_eq(op, CW_LIT("generalizes")))
            return concept_is_a(s, vi, ci) ? CW_FHIR_MEMBER_YES : CW_FHIR_MEMBER_NO;
        return below ? CW_FHIR_MEMBER_NO : CW_FHIR_MEMBER_YES;
    }
    if (concept_prop && cw_slice_eq(op, CW_LIT("="))) {
        uint32_t vi = cs_find_code(s, r, value);
        return vi == ci ? CW_FHIR_MEMBER_YES : CW_FHIR_MEMBER_NO;
    }
    if (concept_prop && cw_slice_eq(op, CW_LIT("in"))) {
        cw_slice code = fhir_str(s, s->concepts[ci].code);
        size_t st = 0;
        for (size_t i = 0; i <= value.len; i++) {
            if (i == value.len || value.ptr[i] == ',') {
                if (cw_slice_eq(cw_slice_trim((cw_slice){value.ptr + st, i - st}), code))
                    return CW_FHIR_MEMBER_YES;
                st = i + 1;
            }
        }
        return CW_FHIR_MEMBER_NO;
    }
    if (cw_slice_eq(prop, CW_LIT("parent")) && cw_slice_eq(op, CW_LIT("="))) {
        uint32_t vi = cs_find_code(s, r, value);
        const struct fd_concept *c = &s->concepts[ci];
        if (vi == FD_NONE) return CW_FHIR_MEMBER_NO;
        if (c->parent == vi) return CW_FHIR_MEMBER_YES;
        uint32_t n = fhir_list_len(s, c->parents2);
        for (uint32_t k = 0; k < n; k++)
            if (fhir_list_at(s, c->parents2, k) == vi) return CW_FHIR_MEMBER_YES;
        return CW_FHIR_MEMBER_NO;
    }
    if (cw_slice_eq(prop, CW_LIT("child")) && cw_slice_eq(op, CW_LIT("="))) {
        uint32_t vi = cs_find_code(s, r, value);
        if (vi == FD_NONE) return CW_FHIR_MEMBER_NO;
        const struct fd_concept *c = &s->concepts[vi];
        if (c->parent == ci) return CW_FHIR_MEMBER_YES;
        uint32_t n = fhir_list_len(s, c->parents2);
        for (uint32_t k = 0; k < n; k++)
            if (fhir_list_at(s, c->parents2, k) == ci) return CW_FHIR_MEMBER_YES;
        return CW_FHIR_MEMBER_NO;
    }
    return CW_FHIR_MEMBER_UNKNOWN; /* regex, exists, other properties */
}

/* AND of two three-valued answers. */
static enum cw_fhir_member and3(enum cw_fhir_member a, enum cw_fhir_member b)
{
    if (a == CW_FHIR_MEMBER_NO || b == CW_FHIR_MEMBER_NO) return CW_FHIR_MEMBER_NO;
    if (a == CW_FHIR_MEMBER_UNKNOWN || b == CW_FHIR_MEMBER_UNKNOWN) return CW_FHIR_MEMBER_UNKNOWN;
    return CW_FHIR_MEMBER_YES;
}

static enum cw_fhir_member rule_member(const struct cw_fhir_set *s, const struct fd_vs_rule *rule,
                                       cw_slice system, cw_slice code, cw_slice *display, int depth)
{
    enum cw_fhir_member res = CW_FHIR_MEMBER_YES;
    if (rule->system) {
        cw_slice rsys = fhir_str(s, rule->system);
        if (system.len && !cw_slice_eq(system, rsys)) return CW_FHIR_MEMBER_NO;
        struct cw_fhir_cs cs = cw_fhir_cs_find(rsys);
        const struct fd_cs *r = cs_rec(cs);
        uint32_t nc = fhir_list_len(s, rule->concepts) / 2; /* (code, display) pairs */
        uint32_t nf = fhir_list_len(s, rule->filters) / 3;  /* (property, op, value) */
        if (nc) {
            res = CW_FHIR_MEMBER_NO;
            for (uint32_t k = 0; k < nc; k++) {
                if (cw_slice_eq(code, fhir_str(s, fhir_list_at(s, rule->concepts, 2 * k)))) {
                    res = CW_FHIR_MEMBER_YES;
                    if (display) {
                        *display = fhir_str(s, fhir_list_at(s, rule->concepts, 2 * k + 1));
                        struct cw_fhir_concept c;
                        if (!display->len && cw_fhir_cs_lookup(cs, code, &c) == 0)
                            *display = c.display;
                    }
                    break;
                }
            }
        } else if (!r) {
            res = CW_FHIR_MEMBER_UNKNOWN;
        } else {
            uint32_t ci = cs_find_code(cs.set, r, code);
            if (ci == FD_NONE) {
                res =
                    r->content == CW_FHIR_CS_COMPLETE ? CW_FHIR_MEMBER_NO : CW_FHIR_MEMBER_UNKNOWN;
            } else {
                for (uint32_t k = 0; k < nf && res != CW_FHIR_MEMBER_NO; k++) {
                    cw_slice prop = fhir_str(s, fhir_list_at(s, rule->filters, 3 * k));
                    cw_slice op = fhir_str(s, fhir_list_at(s, rule->filters, 3 * k + 1));
                    cw_slice val = fhir_str(s, fhir_list_at(s, rule->filters, 3 * k + 2));
                    res = and3(res, filter_match(cs.set, r, ci, prop, op, val));
                }
                if (res == CW_FHIR_MEMBER_YES && display)
                    *display = fhir_str(cs.set, cs.set->concepts[ci].display);
            }
        }
        if (res == CW_FHIR_MEMBER_NO) return res;
    }
    uint32_t nv = fhir_list_len(s, rule->valuesets);
    for (uint32_t k = 0; k < nv && res != CW_FHIR_MEMBER_NO; k++) {
        struct cw_fhir_vs vs = cw_fhir_vs_find(fhir_str(s, fhir_list_at(s, rule->valuesets, k)));
        if (!vs.set) {
            res = and3(res, CW_FHIR_MEMBER_UNKNOWN);
            continue;
        }
        res = and3(res, vs_member(vs.set, vs.i, system, code, display, depth + 1));
    }
    if (!rule->system && nv == 0) return CW_FHIR_MEMBER_NO; /* an empty rule includes nothing */
    return res;
}

static enum cw_fhir_member vs_member(const struct cw_fhir_set *s, uint32_t vi, cw_slice system,
                                     cw_slice code, cw_slice *display, int depth)
{
    if (depth > VS_DEPTH) return CW_FHIR_MEMBER_UNKNOWN;
    const struct fd_vs *v = &s->vss[vi];
    enum cw_fhir_member res = CW_FHIR_MEMBER_NO;
    uint32_t n = fhir_list_len(s, v->includes);
    for (uint32_t k = 0; k < n && res != CW_FHIR_MEMBER_YES; k++) {
        uint32_t ri = fhir_list_at(s, v->includes, k);
        enum cw_fhir_member m = rule_member(s, &s->rules[ri], system, code, display, depth);
        if (m == CW_FHIR_MEMBER_YES || (m == CW_FHIR_MEMBER_UNKNOWN && res == CW_FHIR_MEMBER_NO))
            res = m;
    }
    if (res == CW_FHIR_MEMBER_NO) return res;
    n = fhir_list_len(s, v->excludes);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t ri = fhir_list_at(s, v->excludes, k);
        enum cw_fhir_member m = rule_member(s, &s->rules[ri], system, code, NULL, depth);
        if (m == CW_FHIR_MEMBER_YES) return CW_FHIR_MEMBER_NO;
        if (m == CW_FHIR_MEMBER_UNKNOWN) res = CW_FHIR_MEMBER_UNKNOWN;
    }
    return res;
}

enum cw_fhir_member cw_fhir_vs_contains(struct cw_fhir_vs vs, cw_slice system, cw_slice code,
                                        cw_slice *display)
{
    if (display) *display = (cw_slice){"", 0};
    if (!vs_rec(vs) || code.len == 0) return CW_FHIR_MEMBER_NO;
    return vs_member(vs.set, vs.i, system, code, display, 0);
}

/* ---- expansion ---- */

struct expand {
    int (*fn)(cw_slice system, cw_slice code, cw_slice display, void *ctx);
    void *ctx;
    size_t max;
    long count;
    bool stop;
};

static int emit(struct expand *x, const struct cw_fhir_set *s, uint32_t vi, cw_slice sys,
                cw_slice code, cw_slice display, int depth)
{
    /* drop what the value set's excludes remove */
    const struct fd_vs *v = &s->vss[vi];
    uint32_t n = fhir_list_len(s, v->excludes);
    for (uint32_t k = 0; k < n; k++) {
        enum cw_fhir_member m =
            rule_member(s, &s->rules[fhir_list_at(s, v->excludes, k)], sys, code, NULL, depth);
        if (m == CW_FHIR_MEMBER_YES) return 0;
        if (m == CW_FHIR_MEMBER_UNKNOWN) return -1;
    }
    if ((size_t)x->count >= x->max) return -1;
    x->count++;
    if (x->fn && x->fn(sys, code, display, x->ctx)) x->stop = true;
    return 0;
}

static int expand_vs(struct expand *x, const struct cw_fhir_set *s, uint32_t vi, int depth)
{
    if (depth > VS_DEPTH) return -1;
    const struct fd_vs *v = &s->vss[vi];
    uint32_t n = fhir_list_len(s, v->includes);
    for (uint32_t k = 0; k < n && !x->stop; k++) {
        const struct fd_vs_rule *rule = &s->rules[fhir_list_at(s, v->includes, k)];
        uint32_t nv = fhir_list_len(s, rule->valuesets);
        if (!rule->system) {
            /* a rule of value sets only: expand a single one; intersections are not done here */
            if (nv != 1) return -1;
            struct cw_fhir_vs sub =
                cw_fhir_vs_find(fhir_str(s, fhir_list_at(s, rule->valuesets, 0)));
            if (!sub.set || expand_vs(x, sub.set, sub.i, depth + 1) < 0) return -1;
            continue;
        }
        if (nv) return -1;
        cw_slice sys = fhir_str(s, rule->system);
        uint32_t nc = fhir_list_len(s, rule->concepts) / 2; /* (code, display) pairs */
        if (nc) {
            struct cw_fhir_cs cs = cw_fhir_cs_find(sys);
            for (uint32_t c = 0; c < nc && !x->stop; c++) {
                cw_slice code = fhir_str(s, fhir_list_at(s, rule->concepts, 2 * c));
                cw_slice disp = fhir_str(s, fhir_list_at(s, rule->concepts, 2 * c + 1));
                struct cw_fhir_concept con;
                if (!disp.len && cw_fhir_cs_lookup(cs, code, &con) == 0) disp = con.display;
                if (emit(x, s, vi, sys, code, disp, depth) < 0) return -1;
            }
            continue;
        }
        struct cw_fhir_cs cs = cw_fhir_cs_find(sys);
        const struct fd_cs *r = cs_rec(cs);
        if (!r || r->content != CW_FHIR_CS_COMPLETE) return -1;
        uint32_t nf = fhir_list_len(s, rule->filters) / 3; /* (property, op, value) */
        for (uint32_t c = 0; c < r->count && !x->stop; c++) {
            uint32_t ci = r->first + c;
            enum cw_fhir_member m = CW_FHIR_MEMBER_YES;
            for (uint32_t f = 0; f < nf && m == CW_FHIR_MEMBER_YES; f++)
                m = filter_match(cs.set, r, ci, fhir_str(s, fhir_list_at(s, rule->filters, 3 * f)),
                                 fhir_str(s, fhir_list_at(s, rule->filters, 3 * f + 1)),
                                 fhir_str(s, fhir_list_at(s, rule->filters, 3 * f + 2)));
            if (m == CW_FHIR_MEMBER_UNKNOWN) return -1;
            if (m == CW_FHIR_MEMBER_NO) continue;
            const struct fd_concept *con = &cs.set->concepts[ci];
            if (emit(x, s, vi, sys, fhir_str(cs.set, con->code), fhir_str(cs.set, con->display),
                     depth) < 0)
                return -1;
        }
    }
    return 0;
}

long cw_fhir_vs_expand(struct cw_fhir_vs vs,
                       int (*fn)(cw_slice system, cw_slice code, cw_slice display, void *ctx),
                       void *ctx, size_t max)
{
    if (!vs_rec(vs)) return -1;
    struct expand x = {.fn = fn, .ctx = ctx, .max = max ? max : 100000};
    if (expand_vs(&x, vs.set, vs.i, 0) < 0) return -1;
    return x.count;
}

/* ---- concept maps ---- */

static const struct fd_cm *cm_rec(struct cw_fhir_cm cm)
{
    return cm.set && cm.i < cm.set->n_cms ? &cm.set->cms[cm.i] : NULL;
}

struct cw_fhir_cm cw_fhir_cm_find(cw_slice url)
{
    uint32_t i = fhir_bsearch(SET, SET->cm_by_url, fhir_canonical_url(url), cm_url_key);
    return i == FD_NONE ? (struct cw_fhir_cm){NULL, 0} : (struct cw_fhir_cm){SET, i};
}

size_t cw_fhir_cm_count(void)
{
    return SET->n_cms;
}

struct cw_fhir_cm cw_fhir_cm_at(size_t i)
{
    return i < SET->n_cms ? (struct cw_fhir_cm){SET, (uint32_t)i} : (struct cw_fhir_cm){NULL, 0};
}

cw_slice cw_fhir_cm_url(struct cw_fhir_cm cm)
{
    const struct fd_cm *r = cm_rec(cm);
    return r ? fhir_str(cm.set, r->url) : (cw_slice){"", 0};
}

size_t cw_fhir_cm_translate(struct cw_fhir_cm cm, cw_slice system, cw_slice code,
                            int (*fn)(cw_slice system, cw_slice code, cw_slice equivalence,
                                      void *ctx),
                            void *ctx)
{
    const struct fd_cm *r = cm_rec(cm);
    if (!r) return 0;
    const struct cw_fhir_set *s = cm.set;
    size_t found = 0;
    for (uint32_t g = 0; g < r->group_count; g++) {
        const struct fd_cm_group *gr = &s->cm_groups[r->group_first + g];
        if (system.len && !cw_slice_eq(system, fhir_str(s, gr->source))) continue;
        for (uint32_t e = 0; e < gr->count; e++) {
            const struct fd_cm_elem *el = &s->cm_elems[gr->first + e];
            if (!cw_slice_eq(code, fhir_str(s, el->code))) continue;
            uint32_t nt = fhir_list_len(s, el->targets) / 3;
            for (uint32_t t = 0; t < nt; t++) {
                found++;
                if (fn &&
                    fn(fhir_str(s, gr->target), fhir_str(s, fhir_list_at(s, el->targets, 3 * t)),
                       fhir_str(s, fhir_list_at(s, el->targets, 3 * t + 1)), ctx))
                    return found;
            }
        }
    }
    return found;
}
