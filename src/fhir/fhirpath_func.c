/*
 * fhirpath_func.c — the FHIRPath function library (N1 §5, §6.3, §7, §10,
 * the STU functions of FHIRPath 3.0.0 the R4 suite uses), and regular
 * expressions.
 *
 * Conventions (N1 §5 introduction): a function whose input must be a
 * single item fails when it receives several, and returns empty when it
 * receives none; arguments that must be single values behave the same way.
 * Lambda arguments (where, select, all, exists, repeat, aggregate, sort,
 * iif, trace) are evaluated per input item with $this (and $index,
 * $total) bound; other arguments are evaluated once, in the scope of the
 * call (so $this there is the caller's $this).
 *
 * Strings are UTF-8; indexOf/substring/length count Unicode code points.
 * upper()/lower() change ASCII letters only (documented limitation).
 * Regular expressions: PCRE2 (the FHIRPath "single line" mode is
 * PCRE2_DOTALL; matches() finds a match anywhere, matchesFull() anchors
 * both ends), with match and depth limits so a hostile pattern cannot run
 * away: it fails the evaluation with "too-costly". Literal patterns are
 * compiled once, with the expression.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/base64.h"
#include "fhir/fhirpath_int.h"

#define RE_MATCH_LIMIT 1000000u
#define RE_DEPTH_LIMIT 2000u
#define RE_HEAP_LIMIT  8192u /* KiB */
#define RE_MAX_PATTERN 4096

const struct fp_fn_info fp_fn_table[FP_FN_COUNT_] = {
    [FP_FN_NONE] = {"", 0, 0, 0},
#define FP_FN(id, name, min, max, flags) [FP_FN_##id] = {name, min, max, flags},
#include "fhir/fhirpath_fn.def"
#undef FP_FN
};

enum fp_fn fp_fn_lookup(cw_slice name)
{
    for (int k = 1; k < FP_FN_COUNT_; k++)
        if (cw_slice_eq_cstr(name, fp_fn_table[k].name)) return (enum fp_fn)k;
    return FP_FN_NONE;
}

/* ---- helpers ---- */

static int empty(fp_coll *out)
{
    *out = (fp_coll){0};
    return 0;
}

static const fp_val TRUE_VAL = {.kind = CW_FHIRPATH_BOOLEAN, .u = {.b = true}};
static const fp_val FALSE_VAL = {.kind = CW_FHIRPATH_BOOLEAN, .u = {.b = false}};

static int ret_bool(struct fp_ev *ev, bool b, fp_coll *out)
{
    (void)ev;
    *out = (fp_coll){b ? &TRUE_VAL : &FALSE_VAL, 1};
    return 0;
}

static int ret_int(struct fp_ev *ev, int64_t i, fp_coll *out)
{
    return fp_single(ev, fp_int(i), out);
}

static int ret_dec(struct fp_ev *ev, const struct fp_ast *n, const fp_dec *d, fp_coll *out)
{
    fp_val v;
    if (fp_make_dec(ev, d, &v) < 0) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    return fp_single(ev, v, out);
}

static int ret_str(struct fp_ev *ev, const struct fp_ast *n, cw_slice s, fp_coll *out)
{
    if (s.len > ev->max_string)
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string longer than the limit");
    fp_val v;
    if (fp_make_str(ev, s, &v) < 0) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    return fp_single(ev, v, out);
}

/*
 * The single input item as a System value: 0 empty input (or no value),
 * 1 with *v, -1 error (several items).
 */
static int input_single(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, fp_val *v)
{
    if (in.n == 0) return 0;
    if (in.n > 1)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a single input item, got %zu",
                       fp_fn_table[n->fn].name, in.n);
    return fp_to_system(ev, &in.items[0], v);
}

/* A single input string: 0 empty, 1 ok, -1 error (not a string). */
static int input_string(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, cw_slice *s)
{
    fp_val v;
    int r = input_single(ev, n, in, &v);
    if (r <= 0) {
        if (r == 0 && in.n == 1 && in.items[0].kind == CW_FHIRPATH_NODE &&
            !fp_node_is_primitive(in.items[0].u.node))
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a string, not a %.*s",
                           fp_fn_table[n->fn].name,
                           CW_SLICE_FMT(fp_node_type_name(in.items[0].u.node)));
        return r;
    }
    if (v.kind != CW_FHIRPATH_STRING)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a string input",
                       fp_fn_table[n->fn].name);
    *s = fp_val_str(&v);
    return 1;
}

/* Evaluate argument k to one System value: 0 empty, 1 ok, -1 error. */
static int arg_single(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                      unsigned k, fp_val *v)
{
    fp_coll c;
    if (fp_eval(ev, n->args[k], fr, &c) < 0) return -1;
    if (c.n == 0) return 0;
    if (c.n > 1)
        return fp_fail(ev, n->args[k], CW_ISSUE_PROCESSING,
                       "argument %u of %s() must be a single value", k + 1,
                       fp_fn_table[n->fn].name);
    if (fp_to_system(ev, &c.items[0], v) != 1) return 0;
    return 1;
}

static int arg_string(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                      unsigned k, cw_slice *s)
{
    fp_val v;
    int r = arg_single(ev, n, fr, k, &v);
    if (r <= 0) return r;
    if (v.kind != CW_FHIRPATH_STRING)
        return fp_fail(ev, n->args[k], CW_ISSUE_PROCESSING, "argument %u of %s() must be a string",
                       k + 1, fp_fn_table[n->fn].name);
    *s = fp_val_str(&v);
    return 1;
}

static int arg_int(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, unsigned k,
                   int64_t *i)
{
    fp_val v;
    int r = arg_single(ev, n, fr, k, &v);
    if (r <= 0) return r;
    if (v.kind != CW_FHIRPATH_INTEGER)
        return fp_fail(ev, n->args[k], CW_ISSUE_PROCESSING,
                       "argument %u of %s() must be an integer", k + 1, fp_fn_table[n->fn].name);
    *i = v.u.i;
    return 1;
}

/* Scope for the lambda argument on item i of in. */
static struct fp_frame item_frame(const struct fp_frame *outer, fp_coll in, size_t i)
{
    struct fp_frame f = *outer;
    f.this_ = (fp_coll){in.items + i, 1};
    f.index = (int64_t)i;
    f.has_index = true;
    return f;
}

/* Same item: identical nodes, or equal System values. */
static bool same_item(struct fp_ev *ev, const fp_val *a, const fp_val *b)
{
    if (a->kind == CW_FHIRPATH_NODE && b->kind == CW_FHIRPATH_NODE) {
        const struct cw_fhir_node *x = a->u.node, *y = b->u.node;
        if (x == y) return true;
        if (x->value != y->value || x->ext != y->ext) return false;
        return x->value || x->ext; /* the same JSON: the same element */
    }
    return fp_equal(ev, a, b) == FP_TRUE;
}

/* Membership by = (for union, distinct, intersect...). */
static bool has_equal(struct fp_ev *ev, const fp_val *items, size_t n, const fp_val *v)
{
    for (size_t i = 0; i < n; i++)
        if (fp_equal(ev, &items[i], v) == FP_TRUE) return true;
    return false;
}

/*
 * A hash consistent with =: equal items hash alike (strings by bytes,
 * numbers by value, booleans); items whose equality is more involved
 * (dates, quantities, complex nodes) share one bucket and are compared
 * pairwise.
 */
static uint64_t item_hash(struct fp_ev *ev, const fp_val *v)
{
    fp_val s;
    if (fp_to_system(ev, v, &s) != 1) return 5;
    uint64_t h;
    switch (s.kind) {
    case CW_FHIRPATH_STRING:
        h = 1469598103934665603ull;
        for (uint32_t i = 0; i < s.len; i++) h = (h ^ (unsigned char)s.u.s[i]) * 1099511628211ull;
        return h ^ 1;
    case CW_FHIRPATH_BOOLEAN:
        return 2 + (uint64_t)s.u.b;
    case CW_FHIRPATH_INTEGER:
        return ((uint64_t)s.u.i * 0x9E3779B97F4A7C15ull) ^ 3;
    case CW_FHIRPATH_DECIMAL: {
        fp_dec d = *s.u.dec;
        fp_dec_strip(&d, 0);
        int64_t i;
        if (d.scale == 0 && fp_dec_to_i64(&d, &i) == 0)
            return ((uint64_t)i * 0x9E3779B97F4A7C15ull) ^ 3;
        return ((uint64_t)d.coef * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(d.coef >> 64) ^
               ((uint64_t)d.scale << 1) ^ d.neg;
    }
    default:
        return 5;
    }
}

/* A hash consistent with same_item(): nodes by the JSON they stand for,
   System values as item_hash. */
static uint64_t seen_hash(struct fp_ev *ev, const fp_val *v)
{
    if (v->kind == CW_FHIRPATH_NODE) {
        uint64_t a = (uint64_t)(uintptr_t)v->u.node->value, b = (uint64_t)(uintptr_t)v->u.node->ext;
        if (!a && !b) a = (uint64_t)(uintptr_t)v->u.node;
        return (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full) ^ 7;
    }
    return item_hash(ev, v);
}

int fp_union(struct fp_ev *ev, const struct fp_ast *n, fp_coll a, fp_coll b, fp_coll *out)
{
    struct fp_vec v = {0};
    size_t total = a.n + b.n;
    if (total <= 8) {
        if (fp_steps(ev, n, total) < 0) return -1;
        for (int side = 0; side < 2; side++) {
            fp_coll c = side ? b : a;
            for (size_t i = 0; i < c.n; i++) {
                if (has_equal(ev, v.items, v.n, &c.items[i])) continue;
                if (fp_vec_push(ev, &v, c.items[i]) < 0) return -1;
            }
        }
        *out = fp_vec_coll(&v);
        return 0;
    }
    size_t cap = 16;
    while (cap < total * 2) cap *= 2;
    uint32_t *slots = cw_arena_zalloc(ev->a, cap * sizeof *slots);
    uint64_t *hashes = cw_arena_array(ev->a, total, sizeof *hashes);
    if (!slots || !hashes || fp_vec_reserve(ev, &v, total) < 0)
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    uint64_t probes = 0;
    for (int side = 0; side < 2; side++) {
        fp_coll c = side ? b : a;
        for (size_t i = 0; i < c.n; i++) {
            uint64_t h = item_hash(ev, &c.items[i]);
            size_t at = (size_t)(h ^ (h >> 29)) & (cap - 1);
            bool dup = false;
            while (slots[at]) {
                uint32_t k = slots[at] - 1;
                probes++;
                if (hashes[k] == h && fp_equal(ev, &v.items[k], &c.items[i]) == FP_TRUE) {
                    dup = true;
                    break;
                }
                at = (at + 1) & (cap - 1);
            }
            if (dup) continue;
            hashes[v.n] = h;
            slots[at] = (uint32_t)v.n + 1;
            if (fp_vec_push(ev, &v, c.items[i]) < 0) return -1;
        }
    }
    if (fp_steps(ev, n, total + probes) < 0) return -1;
    *out = fp_vec_coll(&v);
    return 0;
}

static int distinct(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, fp_coll *out)
{
    return fp_union(ev, n, in, (fp_coll){0}, out);
}

/* ---- UTF-8 ---- */

static size_t u8_count(cw_slice s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80) n++;
    return n;
}

/* Byte offset of code point k (s.len when k >= count). */
static size_t u8_offset(cw_slice s, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80) {
            if (n == k) return i;
            n++;
        }
    }
    return s.len;
}

/* Code point index of byte offset b. */
static size_t u8_index(cw_slice s, size_t b)
{
    size_t n = 0;
    for (size_t i = 0; i < b && i < s.len; i++)
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80) n++;
    return n;
}

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static bool u8_valid(cw_slice s)
{
    const unsigned char *b = (const unsigned char *)s.ptr;
    size_t i = 0;
    while (i < s.len) {
        unsigned char c = b[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > s.len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((b[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static long find(cw_slice hay, cw_slice needle, size_t from)
{
    if (needle.len == 0) return (long)from;
    if (needle.len > hay.len) return -1;
    for (size_t i = from; i + needle.len <= hay.len; i++)
        if (memcmp(hay.ptr + i, needle.ptr, needle.len) == 0) return (long)i;
    return -1;
}

/* ---- regular expressions ---- */

static void *re_malloc(size_t n, void *ctx)
{
    return cw_arena_alloc((struct cw_arena *)ctx, n);
}
static void re_free(void *p, void *ctx)
{
    (void)p, (void)ctx;
}

static uint32_t re_options(cw_slice flags, bool full, bool *ok)
{
    uint32_t o = PCRE2_UTF | PCRE2_DOTALL | PCRE2_NEVER_BACKSLASH_C;
    if (full) o |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    *ok = true;
    for (size_t i = 0; i < flags.len; i++) {
        switch (flags.ptr[i]) {
        case 'i':
            o |= PCRE2_CASELESS;
            break;
        case 'm':
            o |= PCRE2_MULTILINE;
            break;
        case 's':
            o |= PCRE2_DOTALL;
            break;
        case 'x':
            o |= PCRE2_EXTENDED;
            break;
        default:
            *ok = false;
        }
    }
    return o;
}

static pcre2_code *re_compile(cw_slice pattern, uint32_t options, pcre2_compile_context *cctx,
                              char *msg, size_t cap)
{
    int ec;
    PCRE2_SIZE off;
    if (pattern.len > RE_MAX_PATTERN) {
        snprintf(msg, cap, "regular expression longer than %d bytes", RE_MAX_PATTERN);
        return NULL;
    }
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(pattern.ptr ? pattern.ptr : ""), pattern.len,
                                   options, &ec, &off, cctx);
    if (!re) {
        PCRE2_UCHAR buf[120];
        pcre2_get_error_message(ec, buf, sizeof buf);
        snprintf(msg, cap, "invalid regular expression at offset %zu: %s", (size_t)off,
                 (const char *)buf);
    }
    return re;
}

int fp_regex_compile_ast(struct cw_fhirpath_expr *e, struct fp_ast *n, struct cw_err *err)
{
    cw_slice pattern = fp_val_str(&n->args[0]->lit);
    cw_slice flags = CW_SLICE_NULL;
    unsigned fa = n->fn == FP_FN_REPLACEMATCHES ? 2 : 1;
    if (n->nargs > fa) flags = fp_val_str(&n->args[fa]->lit);
    bool ok;
    uint32_t o = re_options(flags, n->fn == FP_FN_MATCHESFULL, &ok);
    unsigned line, col;
    fp_line_col(e->source, n->args[0]->pos, &line, &col);
    if (!ok)
        return cw_err_set(err, CW_ISSUE_INVALID,
                          "FHIRPath: unknown regular expression flag (line %u, column %u)", line,
                          col);
    char msg[200];
    pcre2_code *re = re_compile(pattern, o, NULL, msg, sizeof msg);
    if (!re) {
        cw_err_set(err, CW_ISSUE_INVALID, "FHIRPath: %s (line %u, column %u)", msg, line, col);
        if (err) {
            err->line = line;
            err->column = col;
        }
        return -1;
    }
    void **list = realloc(e->regexes, (e->n_regexes + 1) * sizeof *list);
    if (!list) {
        pcre2_code_free(re);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    e->regexes = list;
    e->regexes[e->n_regexes++] = re;
    n->re = re;
    return 0;
}

void fp_regex_free(void *re)
{
    pcre2_code_free((pcre2_code *)re);
}

struct re_run {
    pcre2_general_context *g;
    pcre2_match_context *m;
    pcre2_code *re;
};

/* Prepare contexts (in the arena) and the compiled pattern. 0 ok, -1 error,
   1 empty (an argument was empty). */
static int re_prepare(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                      struct re_run *r)
{
    r->g = pcre2_general_context_create(re_malloc, re_free, ev->a);
    if (!r->g) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    r->m = pcre2_match_context_create(r->g);
    if (!r->m) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    pcre2_set_match_limit(r->m, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(r->m, RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(r->m, RE_HEAP_LIMIT);
    if (n->re) {
        r->re = (pcre2_code *)n->re;
        return 0;
    }
    cw_slice pattern, flags = CW_SLICE_NULL;
    int a = arg_string(ev, n, fr, 0, &pattern);
    if (a <= 0) return a < 0 ? -1 : 1;
    unsigned fa = n->fn == FP_FN_REPLACEMATCHES ? 2 : 1;
    if (n->nargs > fa) {
        int b = arg_string(ev, n, fr, fa, &flags);
        if (b < 0) return -1;
    }
    bool ok;
    uint32_t o = re_options(flags, n->fn == FP_FN_MATCHESFULL, &ok);
    if (!ok) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "unknown regular expression flag");
    pcre2_compile_context *cc = pcre2_compile_context_create(r->g);
    if (!cc) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    char msg[200];
    r->re = re_compile(pattern, o, cc, msg, sizeof msg);
    if (!r->re) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s", msg);
    return 0;
}

static int re_error(struct fp_ev *ev, const struct fp_ast *n, int rc)
{
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "regular expression match limit reached");
    return fp_fail(ev, n, CW_ISSUE_PROCESSING, "regular expression failed (PCRE2 error %d)", rc);
}

static int fn_matches(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                      fp_coll in, fp_coll *out)
{
    cw_slice s;
    int r = input_string(ev, n, in, &s);
    if (r <= 0) return r < 0 ? -1 : empty(out);
    struct re_run rr;
    int p = re_prepare(ev, n, fr, &rr);
    if (p) return p < 0 ? -1 : empty(out);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(rr.re, rr.g);
    if (!md) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    int rc = pcre2_match(rr.re, (PCRE2_SPTR)s.ptr, s.len, 0, 0, md, rr.m);
    if (rc == PCRE2_ERROR_NOMATCH) return ret_bool(ev, false, out);
    if (rc < 0) return re_error(ev, n, rc);
    return ret_bool(ev, true, out);
}

static int fn_replace_matches(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                              fp_coll in, fp_coll *out)
{
    cw_slice s, subst;
    int r = input_string(ev, n, in, &s);
    if (r <= 0) return r < 0 ? -1 : empty(out);
    int a = arg_string(ev, n, fr, 1, &subst);
    if (a <= 0) return a < 0 ? -1 : empty(out);
    if (!n->re) {
        /* the pattern argument may be empty: checked in re_prepare */
    }
    struct re_run rr;
    int p = re_prepare(ev, n, fr, &rr);
    if (p) return p < 0 ? -1 : empty(out);
    PCRE2_SIZE cap = s.len * 2 + subst.len + 64;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (cap > ev->max_string) cap = ev->max_string + 1;
        PCRE2_UCHAR *buf = (PCRE2_UCHAR *)cw_arena_alloc_bytes(ev->a, cap + 1);
        if (!buf) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        PCRE2_SIZE olen = cap;
        int rc =
            pcre2_substitute(rr.re, (PCRE2_SPTR)s.ptr, s.len, 0,
                             PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, NULL, rr.m,
                             (PCRE2_SPTR)(subst.ptr ? subst.ptr : ""), subst.len, buf, &olen);
        if (rc >= 0) return ret_str(ev, n, (cw_slice){(const char *)buf, olen}, out);
        if (rc != PCRE2_ERROR_NOMEMORY) return re_error(ev, n, rc);
        if (olen > ev->max_string)
            return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string longer than the limit");
        cap = olen + 1;
    }
    return fp_fail(ev, n, CW_ISSUE_PROCESSING, "replaceMatches() could not size its result");
}

/* ---- conversions ---- */

static bool ieq(cw_slice s, const char *w)
{
    size_t n = strlen(w);
    if (s.len != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != w[i]) return false;
    }
    return true;
}

/* -> Boolean: 1 ok (*b), 0 not convertible */
static int conv_bool(const fp_val *v, bool *b)
{
    switch (v->kind) {
    case CW_FHIRPATH_BOOLEAN:
        *b = v->u.b;
        return 1;
    case CW_FHIRPATH_INTEGER:
        if (v->u.i == 0 || v->u.i == 1) {
            *b = v->u.i == 1;
            return 1;
        }
        return 0;
    case CW_FHIRPATH_DECIMAL: {
        fp_dec one, zero;
        fp_dec_from_i64(1, &one);
        fp_dec_from_i64(0, &zero);
        if (fp_dec_eq(v->u.dec, &one)) {
            *b = true;
            return 1;
        }
        if (fp_dec_eq(v->u.dec, &zero)) {
            *b = false;
            return 1;
        }
        return 0;
    }
    case CW_FHIRPATH_STRING: {
        cw_slice s = fp_val_str(v);
        if (ieq(s, "true") || ieq(s, "t") || ieq(s, "yes") || ieq(s, "y") || ieq(s, "1") ||
            ieq(s, "1.0")) {
            *b = true;
            return 1;
        }
        if (ieq(s, "false") || ieq(s, "f") || ieq(s, "no") || ieq(s, "n") || ieq(s, "0") ||
            ieq(s, "0.0")) {
            *b = false;
            return 1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int conv_int(const fp_val *v, int64_t *i)
{
    switch (v->kind) {
    case CW_FHIRPATH_INTEGER:
        *i = v->u.i;
        return 1;
    case CW_FHIRPATH_BOOLEAN:
        *i = v->u.b;
        return 1;
    case CW_FHIRPATH_STRING: {
        cw_slice s = fp_val_str(v);
        long long x;
        size_t k = (s.len && (s.ptr[0] == '+' || s.ptr[0] == '-')) ? 1 : 0;
        if (k >= s.len) return 0;
        for (size_t j = k; j < s.len; j++)
            if (s.ptr[j] < '0' || s.ptr[j] > '9') return 0;
        if (cw_slice_to_i64(s, &x) < 0) return 0;
        *i = x;
        return 1;
    }
    default:
        return 0;
    }
}

static int conv_dec(const fp_val *v, fp_dec *d)
{
    switch (v->kind) {
    case CW_FHIRPATH_INTEGER:
        fp_dec_from_i64(v->u.i, d);
        return 1;
    case CW_FHIRPATH_DECIMAL:
        *d = *v->u.dec;
        return 1;
    case CW_FHIRPATH_BOOLEAN:
        fp_dec_from_i64(v->u.b, d);
        d->scale = 1;
        d->coef *= 10;
        return 1;
    case CW_FHIRPATH_STRING:
        return fp_dec_parse_plain(fp_val_str(v), d) == 0;
    default:
        return 0;
    }
}

static int conv_qty(struct fp_ev *ev, const fp_val *v, fp_qty *q)
{
    switch (v->kind) {
    case CW_FHIRPATH_QUANTITY:
        *q = *v->u.qty;
        return 1;
    case CW_FHIRPATH_INTEGER:
    case CW_FHIRPATH_DECIMAL:
        return fp_to_quantity(ev, v, q);
    case CW_FHIRPATH_BOOLEAN:
        memset(q, 0, sizeof *q);
        fp_dec_from_i64(v->u.b, &q->value);
        q->value.scale = 1;
        q->value.coef *= 10;
        q->unit = CW_LIT("1");
        return 1;
    case CW_FHIRPATH_STRING:
        return fp_parse_quantity_text(ev, fp_val_str(v), q) == 0;
    default:
        return 0;
    }
}

static int conv_dt(const fp_val *v, enum cw_fhirpath_kind want, struct cw_dt *dt)
{
    switch (v->kind) {
    case CW_FHIRPATH_DATE:
    case CW_FHIRPATH_DATETIME:
        if (want == CW_FHIRPATH_TIME) return 0;
        *dt = v->u.dt->v;
        if (want == CW_FHIRPATH_DATE && dt->prec > CW_DT_PREC_DAY) {
            dt->prec = CW_DT_PREC_DAY;
            dt->hour = dt->minute = dt->second = 0;
            dt->nanos = 0;
            dt->frac_digits = 0;
            dt->has_tz = false;
            dt->tz_min = 0;
            dt->tz_form = 0;
        }
        return 1;
    case CW_FHIRPATH_TIME:
        if (want != CW_FHIRPATH_TIME) return 0;
        *dt = v->u.dt->v;
        return 1;
    case CW_FHIRPATH_STRING: {
        cw_slice s = fp_val_str(v);
        if (want == CW_FHIRPATH_DATE) {
            if (fp_parse_dt_text(s, CW_FHIRPATH_DATE, dt) == 0) return 1;
            fp_val tmp;
            struct cw_fhirpath_dt holder;
            if (fp_parse_dt_text(s, CW_FHIRPATH_DATETIME, &holder.v) < 0) return 0;
            memset(&tmp, 0, sizeof tmp);
            tmp.kind = CW_FHIRPATH_DATETIME;
            tmp.u.dt = &holder;
            return conv_dt(&tmp, want, dt);
        }
        return fp_parse_dt_text(s, want, dt) == 0;
    }
    default:
        return 0;
    }
}

/* Conversion functions: to != 0 makes the value, else answers convertsTo. */
static int fn_convert(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                      fp_coll in, fp_coll *out)
{
    bool make;
    enum fp_fn f = (enum fp_fn)n->fn;
    switch (f) {
    case FP_FN_TOBOOLEAN:
    case FP_FN_TOINTEGER:
    case FP_FN_TODECIMAL:
    case FP_FN_TOSTRING:
    case FP_FN_TOQUANTITY:
    case FP_FN_TODATE:
    case FP_FN_TODATETIME:
    case FP_FN_TOTIME:
        make = true;
        break;
    default:
        make = false;
    }
    fp_val v;
    int r = input_single(ev, n, in, &v);
    if (r < 0) return -1;
    if (r == 0) {
        /* a complex node converts to nothing: empty / false */
        if (in.n == 1 && !make) return ret_bool(ev, false, out);
        return empty(out);
    }
    fp_val res;
    bool ok = false;
    switch (f) {
    case FP_FN_TOBOOLEAN:
    case FP_FN_CONVERTSTOBOOLEAN: {
        bool b = false;
        ok = conv_bool(&v, &b) == 1;
        res = fp_bool(b);
        break;
    }
    case FP_FN_TOINTEGER:
    case FP_FN_CONVERTSTOINTEGER: {
        int64_t i = 0;
        ok = conv_int(&v, &i) == 1;
        res = fp_int(i);
        break;
    }
    case FP_FN_TODECIMAL:
    case FP_FN_CONVERTSTODECIMAL: {
        fp_dec d;
        ok = conv_dec(&v, &d) == 1;
        if (ok && make && fp_make_dec(ev, &d, &res) < 0)
            return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        break;
    }
    case FP_FN_TOSTRING:
    case FP_FN_CONVERTSTOSTRING:
        ok = v.kind != CW_FHIRPATH_TYPEINFO;
        if (ok && make && fp_val_to_string(ev, &v, &res) < 0)
            return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        break;
    case FP_FN_TOQUANTITY:
    case FP_FN_CONVERTSTOQUANTITY: {
        fp_qty q;
        ok = conv_qty(ev, &v, &q) == 1;
        if (ok && n->nargs == 1) {
            cw_slice unit;
            int a = arg_string(ev, n, fr, 0, &unit);
            if (a < 0) return -1;
            if (a == 0) return empty(out);
            fp_qty target = {.unit = unit, .cal = (uint8_t)fp_cal_keyword(unit)};
            if (!cw_slice_eq(unit, q.unit)) {
                /* convert: value in the target unit = q / (1 target) */
                fp_qty one = target;
                fp_dec_from_i64(1, &one.value);
                int c = fp_qty_compare(&q, &one, false);
                if (c == FP_UNKNOWN) {
                    ok = false;
                } else {
                    fp_qty conv;
                    fp_qty zero = target;
                    fp_dec_from_i64(0, &zero.value);
                    if (fp_qty_add(&zero, &q, false, &conv) != 0)
                        ok = false;
                    else
                        q = conv;
                }
            }
        }
        if (ok && make && fp_make_qty(ev, &q, &res) < 0)
            return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        break;
    }
    case FP_FN_TODATE:
    case FP_FN_CONVERTSTODATE:
    case FP_FN_TODATETIME:
    case FP_FN_CONVERTSTODATETIME:
    case FP_FN_TOTIME:
    case FP_FN_CONVERTSTOTIME: {
        enum cw_fhirpath_kind k =
            (f == FP_FN_TODATE || f == FP_FN_CONVERTSTODATE)   ? CW_FHIRPATH_DATE
            : (f == FP_FN_TOTIME || f == FP_FN_CONVERTSTOTIME) ? CW_FHIRPATH_TIME
                                                               : CW_FHIRPATH_DATETIME;
        struct cw_dt dt;
        ok = conv_dt(&v, k, &dt) == 1;
        if (ok && make && fp_make_dt(ev, k, &dt, &res) < 0)
            return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        break;
    }
    default:
        return fp_fail(ev, n, CW_ISSUE_EXCEPTION, "bad conversion");
    }
    if (!make) return ret_bool(ev, ok, out);
    if (!ok) return empty(out);
    return fp_single(ev, res, out);
}

/* ---- math ---- */

static int fn_math(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, fp_coll in,
                   fp_coll *out)
{
    fp_val v;
    int r = input_single(ev, n, in, &v);
    if (r < 0) return -1;
    if (r == 0) {
        fp_qty q;
        if (in.n == 1 && n->fn == FP_FN_ABS && fp_to_quantity(ev, &in.items[0], &q) == 1) {
            if (q.value.coef) q.value.neg = false;
            fp_val qv;
            if (fp_make_qty(ev, &q, &qv) < 0) return -1;
            return fp_single(ev, qv, out);
        }
        if (in.n == 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a number",
                           fp_fn_table[n->fn].name);
        return empty(out);
    }
    if (v.kind == CW_FHIRPATH_QUANTITY && n->fn == FP_FN_ABS) {
        fp_qty q = *v.u.qty;
        if (q.value.coef) q.value.neg = false;
        fp_val qv;
        if (fp_make_qty(ev, &q, &qv) < 0) return -1;
        return fp_single(ev, qv, out);
    }
    if (v.kind != CW_FHIRPATH_INTEGER && v.kind != CW_FHIRPATH_DECIMAL)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a number", fp_fn_table[n->fn].name);
    bool is_int = v.kind == CW_FHIRPATH_INTEGER;
    fp_dec d;
    if (is_int)
        fp_dec_from_i64(v.u.i, &d);
    else
        d = *v.u.dec;
    fp_dec res;
    switch (n->fn) {
    case FP_FN_ABS:
        if (is_int) {
            if (v.u.i == INT64_MIN) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "integer overflow");
            return ret_int(ev, v.u.i < 0 ? -v.u.i : v.u.i, out);
        }
        res = d;
        res.neg = false;
        return ret_dec(ev, n, &res, out);
    case FP_FN_CEILING:
    case FP_FN_FLOOR:
    case FP_FN_TRUNCATE: {
        if (is_int) return ret_int(ev, v.u.i, out);
        if (n->fn == FP_FN_CEILING)
            fp_dec_ceil(&d, &res);
        else if (n->fn == FP_FN_FLOOR)
            fp_dec_floor(&d, &res);
        else if (fp_dec_trunc_to(&d, 0, &res) < 0)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "overflow");
        int64_t iv;
        if (fp_dec_to_i64(&res, &iv) < 0)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "integer overflow");
        return ret_int(ev, iv, out);
    }
    case FP_FN_ROUND: {
        int64_t prec = 0;
        if (n->nargs == 1) {
            int a = arg_int(ev, n, fr, 0, &prec);
            if (a < 0) return -1;
            if (a == 0) return empty(out);
            if (prec < 0)
                return fp_fail(ev, n, CW_ISSUE_PROCESSING, "round() precision must be >= 0");
            if (prec > FP_DEC_MAX_SCALE) prec = FP_DEC_MAX_SCALE;
        }
        if (fp_dec_round(&d, (int)prec, &res) < 0)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "decimal overflow");
        return ret_dec(ev, n, &res, out);
    }
    case FP_FN_EXP:
    case FP_FN_LN:
    case FP_FN_SQRT:
    case FP_FN_LOG:
    case FP_FN_POWER: {
        double x = fp_dec_to_double(&d), y = 0, z;
        if (n->fn == FP_FN_LOG || n->fn == FP_FN_POWER) {
            fp_val a;
            int ra = arg_single(ev, n, fr, 0, &a);
            if (ra < 0) return -1;
            if (ra == 0) return empty(out);
            if (a.kind != CW_FHIRPATH_INTEGER && a.kind != CW_FHIRPATH_DECIMAL)
                return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a number argument",
                               fp_fn_table[n->fn].name);
            if (n->fn == FP_FN_POWER && is_int && a.kind == CW_FHIRPATH_INTEGER && a.u.i >= 0) {
                /* exact integer power */
                int64_t acc = 1, base = v.u.i;
                for (int64_t k = 0; k < a.u.i; k++) {
                    if (__builtin_mul_overflow(acc, base, &acc))
                        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "integer overflow");
                    if (acc == 0 || acc == 1) break;
                    if (k > 70 && (base == -1)) {
                        acc = (a.u.i % 2) ? -1 : 1;
                        break;
                    }
                }
                return ret_int(ev, acc, out);
            }
            fp_dec ad;
            if (a.kind == CW_FHIRPATH_INTEGER)
                fp_dec_from_i64(a.u.i, &ad);
            else
                ad = *a.u.dec;
            y = fp_dec_to_double(&ad);
        }
        switch (n->fn) {
        case FP_FN_EXP:
            z = exp(x);
            break;
        case FP_FN_LN:
            z = log(x);
            break;
        case FP_FN_SQRT:
            z = sqrt(x);
            break;
        case FP_FN_LOG:
            z = (x == 10.0 || y == 10.0) ? log10(x) / log10(y) : log(x) / log(y);
            break;
        default:
            z = pow(x, y);
            break;
        }
        if (!isfinite(z)) return empty(out);
        if (fp_dec_from_double(z, &res) < 0) return empty(out);
        return ret_dec(ev, n, &res, out);
    }
    default:
        return fp_fail(ev, n, CW_ISSUE_EXCEPTION, "bad math function");
    }
}

/* ---- boundaries and precision (FHIRPath 3.0.0 STU) ---- */

#define MAX_DEC_PRECISION 31

/* low (or high) boundary of a positive decimal x with 'prec' fraction
   digits: x -/+ half a unit of its last place, then cut (low) or rounded
   half up (high) to prec digits. */
static int dec_boundary(const fp_dec *x, int prec, bool high, fp_dec *out)
{
    if (x->coef == 0) {
        /* zero: [-0.5, 0.5] units of its last place */
        fp_dec half = {.coef = 5, .scale = x->scale + 1, .neg = !high};
        return high ? fp_dec_round(&half, prec, out) : fp_dec_trunc_to(&half, prec, out);
    }
    if (x->neg) {
        fp_dec pos = *x;
        pos.neg = false;
        fp_dec r;
        if (dec_boundary(&pos, prec, !high, &r) < 0) return -1;
        if (r.coef) r.neg = true;
        *out = r;
        return 0;
    }
    fp_dec half = {.coef = 5, .scale = x->scale + 1, .neg = false}, b;
    if ((high ? fp_dec_add(x, &half, &b) : fp_dec_sub(x, &half, &b)) < 0) return -1;
    return high ? fp_dec_round(&b, prec, out) : fp_dec_trunc_to(&b, prec, out);
}

static int dt_precision(const struct cw_dt *v)
{
    int frac = v->prec >= CW_DT_PREC_FRACTION ? (v->frac_digits > 9 ? 9 : v->frac_digits) : 0;
    if (v->time_only) {
        switch (v->prec) {
        case CW_DT_PREC_HOUR:
            return 2;
        case CW_DT_PREC_MINUTE:
            return 4;
        case CW_DT_PREC_SECOND:
            return 6;
        default:
            return 6 + frac;
        }
    }
    switch (v->prec) {
    case CW_DT_PREC_YEAR:
        return 4;
    case CW_DT_PREC_MONTH:
        return 6;
    case CW_DT_PREC_DAY:
        return 8;
    case CW_DT_PREC_HOUR:
        return 10;
    case CW_DT_PREC_MINUTE:
        return 12;
    case CW_DT_PREC_SECOND:
        return 14;
    default:
        return 14 + frac;
    }
}

/* Date/time boundary at 'digits' precision (4,6,8,10,12,14,17 / 2,4,6,9). */
static int dt_boundary(const struct cw_dt *in, enum cw_fhirpath_kind kind, int digits, bool high,
                       struct cw_dt *out)
{
    struct cw_dt v = *in;
    int cur = dt_precision(&v);
    if (v.time_only) {
        if (digits != 2 && digits != 4 && digits != 6 && digits != 9) return -1;
    } else {
        if (digits != 4 && digits != 6 && digits != 8 && digits != 10 && digits != 12 &&
            digits != 14 && digits != 17)
            return -1;
        if (kind == CW_FHIRPATH_DATE && digits > 8) return -1;
    }
    (void)cur;
    /* fill every missing component with its least / greatest value */
    if (!v.time_only) {
        if (v.prec < CW_DT_PREC_MONTH) v.month = high ? 12 : 1;
        if (v.prec < CW_DT_PREC_DAY)
            v.day = high ? (uint8_t)cw_dt_days_in_month(v.year, v.month) : 1;
    }
    if (v.prec < CW_DT_PREC_HOUR) v.hour = high ? 23 : 0;
    if (v.prec < CW_DT_PREC_MINUTE) v.minute = high ? 59 : 0;
    if (v.prec < CW_DT_PREC_SECOND) v.second = high ? 59 : 0;
    if (v.prec < CW_DT_PREC_FRACTION)
        v.nanos = high ? 999999999u : 0;
    else if (high) {
        /* the digits written are exact; those not written are the greatest */
        unsigned fd = v.frac_digits > 9 ? 9 : v.frac_digits;
        uint32_t unit = 1;
        for (unsigned k = fd; k < 9; k++) unit *= 10;
        v.nanos = v.nanos / unit * unit + (unit - 1);
    }
    /* a DateTime without an offset may be anywhere from +14:00 to -12:00 */
    bool had_time = in->prec >= CW_DT_PREC_HOUR && !in->time_only;
    if (!v.time_only && kind == CW_FHIRPATH_DATETIME && digits > 8 && !v.has_tz) {
        v.has_tz = true;
        v.tz_min = high ? -720 : 840;
        v.tz_form = high ? '-' : '+';
    }
    (void)had_time;
    /* cut to the requested precision */
    if (v.time_only) {
        v.prec = digits == 2   ? CW_DT_PREC_HOUR
                 : digits == 4 ? CW_DT_PREC_MINUTE
                 : digits == 6 ? CW_DT_PREC_SECOND
                               : CW_DT_PREC_FRACTION;
    } else {
        v.prec = digits == 4    ? CW_DT_PREC_YEAR
                 : digits == 6  ? CW_DT_PREC_MONTH
                 : digits == 8  ? CW_DT_PREC_DAY
                 : digits == 10 ? CW_DT_PREC_HOUR
                 : digits == 12 ? CW_DT_PREC_MINUTE
                 : digits == 14 ? CW_DT_PREC_SECOND
                                : CW_DT_PREC_FRACTION;
        if (v.prec <= CW_DT_PREC_DAY) {
            v.has_tz = false;
            v.tz_min = 0;
            v.tz_form = 0;
        }
    }
    if (v.prec == CW_DT_PREC_FRACTION) {
        v.frac_digits = 3;
        v.nanos = v.nanos / 1000000u * 1000000u;
    } else {
        v.frac_digits = 0;
        v.nanos = 0;
    }
    if (v.prec < CW_DT_PREC_SECOND) v.second = 0;
    if (v.prec < CW_DT_PREC_MINUTE) v.minute = 0;
    if (v.prec < CW_DT_PREC_HOUR) v.hour = 0;
    if (!v.time_only) {
        if (v.prec < CW_DT_PREC_DAY) v.day = 0;
        if (v.prec < CW_DT_PREC_MONTH) v.month = 0;
    }
    *out = v;
    return 0;
}

static int fn_boundary(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                       fp_coll in, fp_coll *out)
{
    fp_val v;
    int r = input_single(ev, n, in, &v);
    if (r < 0) return -1;
    if (r == 0) {
        fp_qty q;
        if (in.n == 1 && fp_to_quantity(ev, &in.items[0], &q) == 1) {
            if (fp_make_qty(ev, &q, &v) < 0) return -1;
        } else {
            return empty(out);
        }
    }
    bool high = n->fn == FP_FN_HIGHBOUNDARY;
    int64_t prec = -1;
    if (n->nargs == 1) {
        int a = arg_int(ev, n, fr, 0, &prec);
        if (a < 0) return -1;
        if (a == 0) return empty(out);
        if (prec < 0) return empty(out);
    }
    switch (v.kind) {
    case CW_FHIRPATH_INTEGER:
    case CW_FHIRPATH_DECIMAL:
    case CW_FHIRPATH_QUANTITY: {
        fp_dec d;
        if (v.kind == CW_FHIRPATH_INTEGER)
            fp_dec_from_i64(v.u.i, &d);
        else if (v.kind == CW_FHIRPATH_DECIMAL)
            d = *v.u.dec;
        else
            d = v.u.qty->value;
        if (prec < 0) prec = 8;
        if (prec > MAX_DEC_PRECISION) return empty(out);
        fp_dec b;
        if (dec_boundary(&d, (int)prec, high, &b) < 0) return empty(out);
        if (v.kind == CW_FHIRPATH_QUANTITY) {
            fp_qty q = *v.u.qty;
            q.value = b;
            fp_val qv;
            if (fp_make_qty(ev, &q, &qv) < 0) return -1;
            return fp_single(ev, qv, out);
        }
        return ret_dec(ev, n, &b, out);
    }
    case CW_FHIRPATH_DATE:
    case CW_FHIRPATH_DATETIME:
    case CW_FHIRPATH_TIME: {
        const struct cw_dt *dt = &v.u.dt->v;
        if (prec < 0) prec = v.kind == CW_FHIRPATH_DATE ? 8 : v.kind == CW_FHIRPATH_TIME ? 9 : 17;
        struct cw_dt b;
        if (dt_boundary(dt, (enum cw_fhirpath_kind)v.kind, (int)prec, high, &b) < 0)
            return empty(out);
        fp_val res;
        if (fp_make_dt(ev, (enum cw_fhirpath_kind)v.kind, &b, &res) < 0) return -1;
        return fp_single(ev, res, out);
    }
    default:
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs a number, quantity or date/time",
                       fp_fn_table[n->fn].name);
    }
}

/* ---- strings ---- */

static int fn_string(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                     fp_coll in, fp_coll *out)
{
    cw_slice s;
    int r = input_string(ev, n, in, &s);
    if (r <= 0) return r < 0 ? -1 : empty(out);
    switch (n->fn) {
    case FP_FN_LENGTH:
        return ret_int(ev, (int64_t)u8_count(s), out);
    case FP_FN_UPPER:
    case FP_FN_LOWER: {
        char *p = cw_arena_alloc_bytes(ev->a, s.len + 1);
        if (!p) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        for (size_t i = 0; i < s.len; i++) {
            char c = s.ptr[i];
            if (n->fn == FP_FN_UPPER && c >= 'a' && c <= 'z') c = (char)(c - 32);
            if (n->fn == FP_FN_LOWER && c >= 'A' && c <= 'Z') c = (char)(c + 32);
            p[i] = c;
        }
        p[s.len] = 0;
        return fp_single(ev, fp_str((cw_slice){p, s.len}), out);
    }
    case FP_FN_TRIM: {
        size_t a = 0, b = s.len;
        while (a < b &&
               (s.ptr[a] == ' ' || s.ptr[a] == '\t' || s.ptr[a] == '\n' || s.ptr[a] == '\r'))
            a++;
        while (b > a && (s.ptr[b - 1] == ' ' || s.ptr[b - 1] == '\t' || s.ptr[b - 1] == '\n' ||
                         s.ptr[b - 1] == '\r'))
            b--;
        return fp_single(ev, fp_str((cw_slice){s.ptr + a, b - a}), out);
    }
    case FP_FN_TOCHARS: {
        struct fp_vec v = {0};
        if (fp_steps(ev, n, s.len) < 0) return -1;
        for (size_t i = 0; i < s.len;) {
            size_t j = i + 1;
            while (j < s.len && ((unsigned char)s.ptr[j] & 0xC0) == 0x80) j++;
            if (fp_vec_push(ev, &v, fp_str((cw_slice){s.ptr + i, j - i})) < 0) return -1;
            i = j;
        }
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_INDEXOF:
    case FP_FN_LASTINDEXOF:
    case FP_FN_STARTSWITH:
    case FP_FN_ENDSWITH:
    case FP_FN_CONTAINS: {
        cw_slice t;
        int a = arg_string(ev, n, fr, 0, &t);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        if (n->fn == FP_FN_INDEXOF) {
            long at = find(s, t, 0);
            return ret_int(ev, at < 0 ? -1 : (int64_t)u8_index(s, (size_t)at), out);
        }
        if (n->fn == FP_FN_LASTINDEXOF) {
            long last = -1;
            if (t.len == 0)
                last = (long)s.len;
            else
                for (long at = find(s, t, 0); at >= 0; at = find(s, t, (size_t)at + 1)) last = at;
            return ret_int(ev, last < 0 ? -1 : (int64_t)u8_index(s, (size_t)last), out);
        }
        if (n->fn == FP_FN_STARTSWITH) return ret_bool(ev, cw_slice_starts_with(s, t), out);
        if (n->fn == FP_FN_ENDSWITH)
            return ret_bool(ev, t.len <= s.len && memcmp(s.ptr + s.len - t.len, t.ptr, t.len) == 0,
                            out);
        return ret_bool(ev, find(s, t, 0) >= 0, out);
    }
    case FP_FN_SUBSTRING: {
        int64_t start, len = -1;
        int a = arg_int(ev, n, fr, 0, &start);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        if (n->nargs == 2) {
            int b = arg_int(ev, n, fr, 1, &len);
            if (b < 0) return -1;
            if (b == 0)
                len = -1;
            else if (len < 0)
                len = 0;
        }
        size_t count = u8_count(s);
        if (start < 0 || (uint64_t)start >= count) return empty(out);
        size_t from = u8_offset(s, (size_t)start);
        size_t to = (len < 0 || (uint64_t)start + (uint64_t)len >= count)
                        ? s.len
                        : u8_offset(s, (size_t)(start + len));
        return fp_single(ev, fp_str((cw_slice){s.ptr + from, to - from}), out);
    }
    case FP_FN_REPLACE: {
        cw_slice pat, sub;
        int a = arg_string(ev, n, fr, 0, &pat);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        int b = arg_string(ev, n, fr, 1, &sub);
        if (b <= 0) return b < 0 ? -1 : empty(out);
        struct cw_buf buf;
        cw_buf_init(&buf, ev->max_string);
        if (pat.len == 0) {
            /* N1 §5.6.9: every character is surrounded by the substitution */
            cw_buf_put_slice(&buf, sub);
            for (size_t i = 0; i < s.len;) {
                size_t j = i + 1;
                while (j < s.len && ((unsigned char)s.ptr[j] & 0xC0) == 0x80) j++;
                cw_buf_append(&buf, s.ptr + i, j - i);
                cw_buf_put_slice(&buf, sub);
                i = j;
            }
        } else {
            size_t i = 0;
            for (long at = find(s, pat, 0); at >= 0; at = find(s, pat, i)) {
                cw_buf_append(&buf, s.ptr + i, (size_t)at - i);
                cw_buf_put_slice(&buf, sub);
                i = (size_t)at + pat.len;
            }
            cw_buf_append(&buf, s.ptr + i, s.len - i);
        }
        int rr;
        if (cw_buf_failed(&buf))
            rr = fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string longer than the limit");
        else
            rr = ret_str(ev, n, cw_buf_slice(&buf), out);
        cw_buf_release(&buf);
        return rr;
    }
    case FP_FN_SPLIT: {
        cw_slice sep;
        int a = arg_string(ev, n, fr, 0, &sep);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        struct fp_vec v = {0};
        if (sep.len == 0) {
            for (size_t i = 0; i < s.len;) {
                size_t j = i + 1;
                while (j < s.len && ((unsigned char)s.ptr[j] & 0xC0) == 0x80) j++;
                if (fp_vec_push(ev, &v, fp_str((cw_slice){s.ptr + i, j - i})) < 0) return -1;
                i = j;
            }
        } else {
            size_t i = 0;
            for (long at = find(s, sep, 0); at >= 0; at = find(s, sep, i)) {
                if (fp_vec_push(ev, &v, fp_str((cw_slice){s.ptr + i, (size_t)at - i})) < 0)
                    return -1;
                i = (size_t)at + sep.len;
            }
            if (fp_vec_push(ev, &v, fp_str((cw_slice){s.ptr + i, s.len - i})) < 0) return -1;
        }
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_ENCODE:
    case FP_FN_DECODE: {
        cw_slice fmt;
        int a = arg_string(ev, n, fr, 0, &fmt);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        bool enc = n->fn == FP_FN_ENCODE;
        if (cw_slice_eq_cstr(fmt, "hex")) {
            static const char H[] = "0123456789abcdef";
            if (enc) {
                if (s.len > ev->max_string / 2)
                    return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string too long");
                char *p = cw_arena_alloc_bytes(ev->a, s.len * 2 + 1);
                if (!p) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
                for (size_t i = 0; i < s.len; i++) {
                    p[2 * i] = H[(unsigned char)s.ptr[i] >> 4];
                    p[2 * i + 1] = H[(unsigned char)s.ptr[i] & 15];
                }
                p[s.len * 2] = 0;
                return fp_single(ev, fp_str((cw_slice){p, s.len * 2}), out);
            }
            if (s.len % 2) return empty(out);
            char *p = cw_arena_alloc_bytes(ev->a, s.len / 2 + 1);
            if (!p) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
            for (size_t i = 0; i < s.len / 2; i++) {
                int hi = -1, lo = -1;
                for (int k = 0; k < 16; k++) {
                    char c = s.ptr[2 * i], d = s.ptr[2 * i + 1];
                    if (c == H[k] || (k >= 10 && c == H[k] - 32)) hi = k;
                    if (d == H[k] || (k >= 10 && d == H[k] - 32)) lo = k;
                }
                if (hi < 0 || lo < 0) return empty(out);
                p[i] = (char)(hi << 4 | lo);
            }
            p[s.len / 2] = 0;
            /* a String is Unicode text: bytes that are not UTF-8 cannot be one */
            if (!u8_valid((cw_slice){p, s.len / 2}))
                return fp_fail(ev, n, CW_ISSUE_PROCESSING,
                               "decode(): the bytes are not UTF-8 text");
            return fp_single(ev, fp_str((cw_slice){p, s.len / 2}), out);
        }
        unsigned flags;
        if (cw_slice_eq_cstr(fmt, "base64"))
            flags = 0;
        else if (cw_slice_eq_cstr(fmt, "urlbase64"))
            flags = CW_BASE64_URL;
        else
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "unknown encoding (hex, base64, urlbase64)");
        if (enc) {
            struct cw_buf b;
            cw_buf_init(&b, ev->max_string);
            int rc = cw_base64_encode_buf(&b, s, flags);
            int rr = rc < 0 ? fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string too long")
                            : ret_str(ev, n, cw_buf_slice(&b), out);
            cw_buf_release(&b);
            return rr;
        }
        cw_slice dec;
        if (cw_base64_decode_arena(ev->a, s, flags | CW_BASE64_PAD_OPTIONAL, &dec, NULL) < 0)
            return empty(out);
        if (!u8_valid(dec))
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "decode(): the bytes are not UTF-8 text");
        return fp_single(ev, fp_str(dec), out);
    }
    case FP_FN_ESCAPE:
    case FP_FN_UNESCAPE: {
        cw_slice target;
        int a = arg_string(ev, n, fr, 0, &target);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        bool html = cw_slice_eq_cstr(target, "html");
        if (!html && !cw_slice_eq_cstr(target, "json"))
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "unknown escape target (html, json)");
        struct cw_buf b;
        cw_buf_init(&b, ev->max_string);
        if (n->fn == FP_FN_ESCAPE) {
            for (size_t i = 0; i < s.len; i++) {
                char c = s.ptr[i];
                if (html) {
                    switch (c) {
                    case '<':
                        cw_buf_puts(&b, "&lt;");
                        break;
                    case '>':
                        cw_buf_puts(&b, "&gt;");
                        break;
                    case '&':
                        cw_buf_puts(&b, "&amp;");
                        break;
                    case '"':
                        cw_buf_puts(&b, "&quot;");
                        break;
                    case '\'':
                        cw_buf_puts(&b, "&#39;");
                        break;
                    default:
                        cw_buf_putc(&b, c);
                    }
                } else {
                    switch (c) {
                    case '"':
                        cw_buf_puts(&b, "\\\"");
                        break;
                    case '\\':
                        cw_buf_puts(&b, "\\\\");
                        break;
                    case '\n':
                        cw_buf_puts(&b, "\\n");
                        break;
                    case '\r':
                        cw_buf_puts(&b, "\\r");
                        break;
                    case '\t':
                        cw_buf_puts(&b, "\\t");
                        break;
                    default:
                        if ((unsigned char)c < 0x20)
                            cw_buf_printf(&b, "\\u%04x", (unsigned char)c);
                        else
                            cw_buf_putc(&b, c);
                    }
                }
            }
        } else {
            for (size_t i = 0; i < s.len; i++) {
                char c = s.ptr[i];
                if (html && c == '&') {
                    static const struct {
                        const char *e;
                        char c;
                    } E[] = {{"&lt;", '<'},   {"&gt;", '>'},   {"&amp;", '&'},
                             {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''}};
                    bool done = false;
                    for (size_t k = 0; k < sizeof E / sizeof E[0] && !done; k++) {
                        size_t el = strlen(E[k].e);
                        if (i + el <= s.len && memcmp(s.ptr + i, E[k].e, el) == 0) {
                            cw_buf_putc(&b, E[k].c);
                            i += el - 1;
                            done = true;
                        }
                    }
                    if (!done) cw_buf_putc(&b, c);
                } else if (!html && c == '\\' && i + 1 < s.len) {
                    char d = s.ptr[++i];
                    switch (d) {
                    case 'n':
                        cw_buf_putc(&b, '\n');
                        break;
                    case 'r':
                        cw_buf_putc(&b, '\r');
                        break;
                    case 't':
                        cw_buf_putc(&b, '\t');
                        break;
                    case 'b':
                        cw_buf_putc(&b, '\b');
                        break;
                    case 'f':
                        cw_buf_putc(&b, '\f');
                        break;
                    default:
                        cw_buf_putc(&b, d);
                    }
                } else {
                    cw_buf_putc(&b, c);
                }
            }
        }
        int rr = cw_buf_failed(&b) ? fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string too long")
                                   : ret_str(ev, n, cw_buf_slice(&b), out);
        cw_buf_release(&b);
        return rr;
    }
    default:
        return fp_fail(ev, n, CW_ISSUE_EXCEPTION, "bad string function");
    }
}

/* ---- sorting ---- */

struct sort_item {
    fp_val v;
    fp_val *keys; /* one per criterion; kind 0 = empty */
};

struct sort_ctx {
    struct fp_ev *ev;
    const struct fp_ast *n;
    unsigned nkeys;
    bool failed;
};

static int sort_cmp(struct sort_ctx *sc, const struct sort_item *a, const struct sort_item *b)
{
    for (unsigned k = 0; k < sc->nkeys; k++) {
        const fp_val *x = &a->keys[k], *y = &b->keys[k];
        bool desc = sc->n->nargs && (sc->n->args[k]->flags & FP_AST_DESC);
        int c;
        if (!x->kind || !y->kind) {
            /* an empty key sorts first, in both directions (N1 STU sort():
               "an empty value is considered lower than all other values";
               the R4 suite's testSort10 puts it first when descending too) */
            c = (x->kind != 0) - (y->kind != 0);
            if (c) return c;
            continue;
        } else {
            c = fp_compare(sc->ev, x, y);
            if (c == -2) {
                sc->failed = true;
                return 0;
            }
            if (c == FP_UNKNOWN) c = 0;
        }
        if (c) return desc ? -c : c;
    }
    return 0;
}

static int fn_sort(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, fp_coll in,
                   fp_coll *out)
{
    if (in.n <= 1) {
        *out = in;
        return 0;
    }
    unsigned nk = n->nargs ? n->nargs : 1;
    struct sort_item *items = cw_arena_array(ev->a, in.n, sizeof *items);
    fp_val *keys = cw_arena_array(ev->a, in.n * nk, sizeof *keys);
    struct sort_item *tmp = cw_arena_array(ev->a, in.n, sizeof *tmp);
    if (!items || !keys || !tmp) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    for (size_t i = 0; i < in.n; i++) {
        items[i].v = in.items[i];
        items[i].keys = keys + i * nk;
        for (unsigned k = 0; k < nk; k++) {
            fp_coll c;
            if (n->nargs) {
                struct fp_frame f = item_frame(fr, in, i);
                if (fp_eval(ev, n->args[k], &f, &c) < 0) return -1;
            } else {
                c = (fp_coll){in.items + i, 1};
            }
            if (c.n > 1)
                return fp_fail(ev, n, CW_ISSUE_PROCESSING, "a sort key must be a single value");
            memset(&items[i].keys[k], 0, sizeof(fp_val));
            if (c.n == 1) {
                fp_val s;
                if (fp_to_system(ev, &c.items[0], &s) == 1) items[i].keys[k] = s;
            }
        }
    }
    if (fp_steps(ev, n, in.n * 8) < 0) return -1;
    /* stable merge sort */
    struct sort_ctx sc = {ev, n, nk, false};
    for (size_t w = 1; w < in.n; w *= 2) {
        for (size_t lo = 0; lo < in.n; lo += 2 * w) {
            size_t mid = lo + w < in.n ? lo + w : in.n, hi = lo + 2 * w < in.n ? lo + 2 * w : in.n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                tmp[o++] = sort_cmp(&sc, &items[b], &items[a]) < 0 ? items[b++] : items[a++];
            while (a < mid) tmp[o++] = items[a++];
            while (b < hi) tmp[o++] = items[b++];
        }
        memcpy(items, tmp, in.n * sizeof *items);
    }
    if (sc.failed)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "sort keys of types that cannot be compared");
    fp_val *res = cw_arena_array(ev->a, in.n, sizeof *res);
    if (!res) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
    for (size_t i = 0; i < in.n; i++) res[i] = items[i].v;
    *out = (fp_coll){res, in.n};
    return 0;
}

/* ---- now/today ---- */

static void now_init(struct fp_ev *ev)
{
    if (ev->now_set) return;
    const struct cw_fhirpath_env *env = ev->env;
    ev->now_us = env && env->now_us ? env->now_us : cw_dt_now_us();
    if (env && env->tz_offset_set) {
        ev->tz_min = env->tz_offset_min;
    } else {
        time_t t = (time_t)(ev->now_us / 1000000);
        struct tm tm;
        ev->tz_min = localtime_r(&t, &tm) ? (int)(tm.tm_gmtoff / 60) : 0;
    }
    if (ev->tz_min > 840 || ev->tz_min < -840) ev->tz_min = 0;
    ev->now_set = true;
}

static int fn_now(struct fp_ev *ev, const struct fp_ast *n, fp_coll *out)
{
    now_init(ev);
    struct cw_dt dt;
    if (cw_dt_from_unix_us(ev->now_us + (int64_t)ev->tz_min * 60 * 1000000, 3, &dt, NULL) < 0)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "clock out of range");
    dt.has_tz = true;
    dt.tz_min = (int16_t)ev->tz_min;
    dt.tz_form = ev->tz_min == 0 ? 'Z' : ev->tz_min < 0 ? '-' : '+';
    enum cw_fhirpath_kind k = CW_FHIRPATH_DATETIME;
    if (n->fn == FP_FN_TODAY) {
        k = CW_FHIRPATH_DATE;
        dt.prec = CW_DT_PREC_DAY;
        dt.hour = dt.minute = dt.second = 0;
        dt.nanos = 0;
        dt.frac_digits = 0;
        dt.has_tz = false;
        dt.tz_min = 0;
        dt.tz_form = 0;
    } else if (n->fn == FP_FN_TIMEOFDAY) {
        k = CW_FHIRPATH_TIME;
        dt.time_only = true;
        dt.year = 0;
        dt.month = dt.day = 0;
        dt.has_tz = false;
        dt.tz_min = 0;
        dt.tz_form = 0;
    }
    fp_val v;
    if (fp_make_dt(ev, k, &dt, &v) < 0) return -1;
    return fp_single(ev, v, out);
}

/* ---- tree ---- */

static int descendants(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, fp_coll *out)
{
    struct fp_vec v = {0};
    for (size_t i = 0; i < in.n; i++)
        if (fp_children(ev, NULL, &in.items[i], CW_SLICE_NULL, true, &v) < 0) return -1;
    for (size_t k = 0; k < v.n; k++) {
        if (fp_steps(ev, n, 1) < 0) return -1;
        fp_val it = v.items[k];
        if (fp_children(ev, NULL, &it, CW_SLICE_NULL, true, &v) < 0) return -1;
    }
    *out = fp_vec_coll(&v);
    return 0;
}

/* ---- the dispatcher ---- */

static int need_bool_items(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, int want_all,
                           bool value, fp_coll *out)
{
    /* allTrue/anyTrue/allFalse/anyFalse */
    bool any = false, all = true;
    for (size_t i = 0; i < in.n; i++) {
        fp_val s;
        if (fp_to_system(ev, &in.items[i], &s) != 1 || s.kind != CW_FHIRPATH_BOOLEAN)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() needs Boolean items",
                           fp_fn_table[n->fn].name);
        if (s.u.b == value)
            any = true;
        else
            all = false;
    }
    return ret_bool(ev, want_all ? all : any, out);
}

int fp_call(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, fp_coll in,
            fp_coll *out)
{
    if (fp_steps(ev, n, 1) < 0) return -1;
    switch ((enum fp_fn)n->fn) {
    case FP_FN_EMPTY:
        return ret_bool(ev, in.n == 0, out);
    case FP_FN_EXISTS:
    case FP_FN_ALL:
    case FP_FN_WHERE:
    case FP_FN_SELECT: {
        bool is_exists = n->fn == FP_FN_EXISTS, is_all = n->fn == FP_FN_ALL;
        if (is_exists && n->nargs == 0) return ret_bool(ev, in.n > 0, out);
        struct fp_vec v = {0};
        for (size_t i = 0; i < in.n; i++) {
            fp_prefetch_ahead(&in, i);
            struct fp_frame f = item_frame(fr, in, i);
            if (n->fn == FP_FN_SELECT) {
                fp_coll c;
                if (fp_eval(ev, n->args[0], &f, &c) < 0) return -1;
                for (size_t k = 0; k < c.n; k++)
                    if (fp_vec_push(ev, &v, c.items[k]) < 0) return -1;
                continue;
            }
            int t = fp_eval_truth(ev, n->args[0], &f);
            if (t < 0) return -1;
            if (is_exists && t == FP_TRUE) return ret_bool(ev, true, out);
            if (is_all && t != FP_TRUE) return ret_bool(ev, false, out);
            if (n->fn == FP_FN_WHERE && t == FP_TRUE && fp_vec_push(ev, &v, in.items[i]) < 0)
                return -1;
        }
        if (is_exists) return ret_bool(ev, false, out);
        if (is_all) return ret_bool(ev, true, out);
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_ALLTRUE:
        return need_bool_items(ev, n, in, 1, true, out);
    case FP_FN_ANYTRUE:
        return need_bool_items(ev, n, in, 0, true, out);
    case FP_FN_ALLFALSE:
        return need_bool_items(ev, n, in, 1, false, out);
    case FP_FN_ANYFALSE:
        return need_bool_items(ev, n, in, 0, false, out);
    case FP_FN_SUBSETOF:
    case FP_FN_SUPERSETOF: {
        fp_coll other;
        if (fp_eval(ev, n->args[0], fr, &other) < 0) return -1;
        fp_coll sub = n->fn == FP_FN_SUBSETOF ? in : other,
                sup = n->fn == FP_FN_SUBSETOF ? other : in;
        if (fp_steps(ev, n, sub.n * sup.n + 1) < 0) return -1;
        for (size_t i = 0; i < sub.n; i++)
            if (!has_equal(ev, sup.items, sup.n, &sub.items[i])) return ret_bool(ev, false, out);
        return ret_bool(ev, true, out);
    }
    case FP_FN_COUNT:
        return ret_int(ev, (int64_t)in.n, out);
    case FP_FN_DISTINCT:
        return distinct(ev, n, in, out);
    case FP_FN_ISDISTINCT: {
        fp_coll d;
        if (distinct(ev, n, in, &d) < 0) return -1;
        return ret_bool(ev, d.n == in.n, out);
    }
    case FP_FN_REPEAT: {
        /* breadth first; an item already produced is not produced or
           expanded again (nodes by identity, System values by =), found
           through a hash set so long results stay linear */
        struct fp_vec res = {0};
        fp_coll queue = in;
        size_t cap = 64;
        uint32_t *slots = cw_arena_zalloc(ev->a, cap * sizeof *slots);
        if (!slots) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
        while (queue.n) {
            struct fp_vec next = {0};
            for (size_t i = 0; i < queue.n; i++) {
                struct fp_frame f = item_frame(fr, queue, i);
                fp_coll c;
                if (fp_eval(ev, n->args[0], &f, &c) < 0) return -1;
                if (fp_steps(ev, n, c.n + 1) < 0) return -1;
                for (size_t k = 0; k < c.n; k++) {
                    uint64_t h = seen_hash(ev, &c.items[k]);
                    size_t at = (size_t)(h ^ (h >> 29)) & (cap - 1);
                    bool seen = false;
                    uint64_t probes = 0;
                    while (slots[at]) {
                        probes++;
                        if (same_item(ev, &res.items[slots[at] - 1], &c.items[k])) {
                            seen = true;
                            break;
                        }
                        at = (at + 1) & (cap - 1);
                    }
                    if (fp_steps(ev, n, probes) < 0) return -1;
                    if (seen) continue;
                    if (fp_vec_push(ev, &res, c.items[k]) < 0 ||
                        fp_vec_push(ev, &next, c.items[k]) < 0)
                        return -1;
                    slots[at] = (uint32_t)res.n;
                    if (res.n * 2 > cap) {
                        /* grow and re-insert */
                        size_t ncap = cap * 2;
                        uint32_t *ns = cw_arena_zalloc(ev->a, ncap * sizeof *ns);
                        if (!ns) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
                        for (size_t j = 0; j < res.n; j++) {
                            uint64_t hj = seen_hash(ev, &res.items[j]);
                            size_t p = (size_t)(hj ^ (hj >> 29)) & (ncap - 1);
                            while (ns[p]) p = (p + 1) & (ncap - 1);
                            ns[p] = (uint32_t)j + 1;
                        }
                        if (fp_steps(ev, n, res.n) < 0) return -1;
                        slots = ns;
                        cap = ncap;
                    }
                }
            }
            queue = fp_vec_coll(&next);
        }
        *out = fp_vec_coll(&res);
        return 0;
    }
    case FP_FN_OFTYPE: {
        struct fp_vec v = {0};
        for (size_t i = 0; i < in.n; i++)
            if (fp_is_type(&in.items[i], &n->type) && fp_vec_push(ev, &v, in.items[i]) < 0)
                return -1;
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_SINGLE:
        if (in.n > 1) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "single() on %zu items", in.n);
        *out = in;
        return 0;
    case FP_FN_FIRST:
        *out = in.n ? (fp_coll){in.items, 1} : (fp_coll){0};
        return 0;
    case FP_FN_LAST:
        *out = in.n ? (fp_coll){in.items + in.n - 1, 1} : (fp_coll){0};
        return 0;
    case FP_FN_TAIL:
        *out = in.n > 1 ? (fp_coll){in.items + 1, in.n - 1} : (fp_coll){0};
        return 0;
    case FP_FN_SKIP:
    case FP_FN_TAKE: {
        int64_t k;
        int a = arg_int(ev, n, fr, 0, &k);
        if (a < 0) return -1;
        if (a == 0) return empty(out);
        if (n->fn == FP_FN_SKIP) {
            if (k <= 0)
                *out = in;
            else
                *out =
                    (uint64_t)k >= in.n ? (fp_coll){0} : (fp_coll){in.items + k, in.n - (size_t)k};
        } else {
            if (k <= 0)
                *out = (fp_coll){0};
            else
                *out = (fp_coll){in.items, (uint64_t)k >= in.n ? in.n : (size_t)k};
        }
        return 0;
    }
    case FP_FN_INTERSECT:
    case FP_FN_EXCLUDE: {
        fp_coll other;
        if (fp_eval(ev, n->args[0], fr, &other) < 0) return -1;
        if (fp_steps(ev, n, in.n * other.n + 1) < 0) return -1;
        struct fp_vec v = {0};
        for (size_t i = 0; i < in.n; i++) {
            bool inother = has_equal(ev, other.items, other.n, &in.items[i]);
            if (n->fn == FP_FN_INTERSECT) {
                if (!inother || has_equal(ev, v.items, v.n, &in.items[i])) continue;
            } else if (inother) {
                continue;
            }
            if (fp_vec_push(ev, &v, in.items[i]) < 0) return -1;
        }
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_UNION:
    case FP_FN_COMBINE: {
        fp_coll other;
        if (fp_eval(ev, n->args[0], fr, &other) < 0) return -1;
        if (n->fn == FP_FN_UNION) return fp_union(ev, n, in, other, out);
        struct fp_vec v = {0};
        for (size_t i = 0; i < in.n; i++)
            if (fp_vec_push(ev, &v, in.items[i]) < 0) return -1;
        for (size_t i = 0; i < other.n; i++)
            if (fp_vec_push(ev, &v, other.items[i]) < 0) return -1;
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_IIF: {
        if (in.n > 1) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "iif() on %zu items", in.n);
        struct fp_frame f = *fr;
        f.this_ = in;
        int t = fp_eval_truth(ev, n->args[0], &f);
        if (t < 0) return -1;
        if (t == FP_TRUE) return fp_eval(ev, n->args[1], &f, out);
        if (n->nargs == 3) return fp_eval(ev, n->args[2], &f, out);
        return empty(out);
    }
    case FP_FN_TOBOOLEAN:
    case FP_FN_CONVERTSTOBOOLEAN:
    case FP_FN_TOINTEGER:
    case FP_FN_CONVERTSTOINTEGER:
    case FP_FN_TODATE:
    case FP_FN_CONVERTSTODATE:
    case FP_FN_TODATETIME:
    case FP_FN_CONVERTSTODATETIME:
    case FP_FN_TODECIMAL:
    case FP_FN_CONVERTSTODECIMAL:
    case FP_FN_TOQUANTITY:
    case FP_FN_CONVERTSTOQUANTITY:
    case FP_FN_TOSTRING:
    case FP_FN_CONVERTSTOSTRING:
    case FP_FN_TOTIME:
    case FP_FN_CONVERTSTOTIME:
        return fn_convert(ev, n, fr, in, out);
    case FP_FN_INDEXOF:
    case FP_FN_LASTINDEXOF:
    case FP_FN_SUBSTRING:
    case FP_FN_STARTSWITH:
    case FP_FN_ENDSWITH:
    case FP_FN_CONTAINS:
    case FP_FN_UPPER:
    case FP_FN_LOWER:
    case FP_FN_REPLACE:
    case FP_FN_LENGTH:
    case FP_FN_TOCHARS:
    case FP_FN_ENCODE:
    case FP_FN_DECODE:
    case FP_FN_ESCAPE:
    case FP_FN_UNESCAPE:
    case FP_FN_TRIM:
    case FP_FN_SPLIT:
        return fn_string(ev, n, fr, in, out);
    case FP_FN_MATCHES:
    case FP_FN_MATCHESFULL:
        return fn_matches(ev, n, fr, in, out);
    case FP_FN_REPLACEMATCHES:
        return fn_replace_matches(ev, n, fr, in, out);
    case FP_FN_JOIN: {
        cw_slice sep = CW_SLICE_NULL;
        if (n->nargs == 1) {
            int a = arg_string(ev, n, fr, 0, &sep);
            if (a < 0) return -1;
        }
        struct cw_buf b;
        cw_buf_init(&b, ev->max_string);
        for (size_t i = 0; i < in.n; i++) {
            fp_val s;
            if (fp_to_system(ev, &in.items[i], &s) != 1 || s.kind != CW_FHIRPATH_STRING) {
                cw_buf_release(&b);
                return fp_fail(ev, n, CW_ISSUE_PROCESSING, "join() needs strings");
            }
            if (i) cw_buf_put_slice(&b, sep);
            cw_buf_put_slice(&b, fp_val_str(&s));
        }
        int rr = cw_buf_failed(&b) ? fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string too long")
                                   : ret_str(ev, n, cw_buf_slice(&b), out);
        cw_buf_release(&b);
        return rr;
    }
    case FP_FN_ABS:
    case FP_FN_CEILING:
    case FP_FN_EXP:
    case FP_FN_FLOOR:
    case FP_FN_LN:
    case FP_FN_LOG:
    case FP_FN_POWER:
    case FP_FN_ROUND:
    case FP_FN_SQRT:
    case FP_FN_TRUNCATE:
        return fn_math(ev, n, fr, in, out);
    case FP_FN_CHILDREN: {
        struct fp_vec v = {0};
        for (size_t i = 0; i < in.n; i++)
            if (fp_children(ev, NULL, &in.items[i], CW_SLICE_NULL, true, &v) < 0) return -1;
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_DESCENDANTS:
        return descendants(ev, n, in, out);
    case FP_FN_TRACE: {
        const struct cw_fhirpath_env *env = ev->env;
        if (env && env->trace) {
            cw_slice name;
            int a = arg_string(ev, n, fr, 0, &name);
            if (a < 0) return -1;
            fp_coll shown = in;
            if (n->nargs == 2) {
                struct fp_vec v = {0};
                for (size_t i = 0; i < in.n; i++) {
                    struct fp_frame f = item_frame(fr, in, i);
                    fp_coll c;
                    if (fp_eval(ev, n->args[1], &f, &c) < 0) return -1;
                    for (size_t k = 0; k < c.n; k++)
                        if (fp_vec_push(ev, &v, c.items[k]) < 0) return -1;
                }
                shown = fp_vec_coll(&v);
            }
            env->trace(a ? name : CW_SLICE_NULL, shown, env->trace_ctx);
        }
        *out = in;
        return 0;
    }
    case FP_FN_NOW:
    case FP_FN_TODAY:
    case FP_FN_TIMEOFDAY:
        return fn_now(ev, n, out);
    case FP_FN_IS:
    case FP_FN_AS:
        return fp_op_is_as(ev, n, in, n->fn == FP_FN_IS, out);
    case FP_FN_TYPE: {
        struct fp_vec v = {0};
        for (size_t i = 0; i < in.n; i++) {
            struct cw_fhirpath_type *t = cw_arena_alloc(ev->a, sizeof *t);
            if (!t) return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "out of memory");
            *t = fp_type_of(&in.items[i]);
            fp_val tv = {.kind = CW_FHIRPATH_TYPEINFO};
            tv.u.type = t;
            if (fp_vec_push(ev, &v, tv) < 0) return -1;
        }
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_NOT: {
        if (in.n == 0) return empty(out);
        if (in.n > 1) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "not() on %zu items", in.n);
        fp_val s;
        if (fp_to_system(ev, &in.items[0], &s) == 1 && s.kind == CW_FHIRPATH_BOOLEAN)
            return ret_bool(ev, !s.u.b, out);
        return ret_bool(ev, false, out); /* a single non-Boolean item is true */
    }
    case FP_FN_AGGREGATE: {
        fp_coll total = {0};
        if (n->nargs == 2 && fp_eval(ev, n->args[1], fr, &total) < 0) return -1;
        for (size_t i = 0; i < in.n; i++) {
            struct fp_frame f = item_frame(fr, in, i);
            f.total = total;
            f.has_total = true;
            if (fp_eval(ev, n->args[0], &f, &total) < 0) return -1;
        }
        *out = total;
        return 0;
    }
    case FP_FN_SORT:
        return fn_sort(ev, n, fr, in, out);
    case FP_FN_LOWBOUNDARY:
    case FP_FN_HIGHBOUNDARY:
        return fn_boundary(ev, n, fr, in, out);
    case FP_FN_PRECISION: {
        fp_val v;
        int r = input_single(ev, n, in, &v);
        if (r <= 0) return r < 0 ? -1 : empty(out);
        if (v.kind == CW_FHIRPATH_DECIMAL) return ret_int(ev, v.u.dec->scale, out);
        if (v.kind == CW_FHIRPATH_INTEGER) return ret_int(ev, 0, out);
        if (v.kind == CW_FHIRPATH_DATE || v.kind == CW_FHIRPATH_DATETIME ||
            v.kind == CW_FHIRPATH_TIME)
            return ret_int(ev, dt_precision(&v.u.dt->v), out);
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "precision() needs a decimal or date/time");
    }
    case FP_FN_COMPARABLE: {
        if (in.n == 0) return empty(out);
        if (in.n > 1) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "comparable() on %zu items", in.n);
        fp_coll other;
        if (fp_eval(ev, n->args[0], fr, &other) < 0) return -1;
        if (other.n == 0) return empty(out);
        if (other.n > 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "comparable() argument has %zu items",
                           other.n);
        fp_qty a, b;
        if (fp_to_quantity(ev, &in.items[0], &a) != 1 ||
            fp_to_quantity(ev, &other.items[0], &b) != 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "comparable() needs quantities");
        return ret_bool(ev, fp_qty_compare(&a, &b, false) != FP_UNKNOWN, out);
    }
    case FP_FN_EXTENSION: {
        cw_slice url;
        int a = arg_string(ev, n, fr, 0, &url);
        if (a < 0) return -1;
        if (a == 0) return empty(out);
        struct fp_vec ext = {0}, v = {0};
        for (size_t i = 0; i < in.n; i++)
            if (fp_children(ev, n, &in.items[i], CW_LIT("extension"), false, &ext) < 0) return -1;
        for (size_t i = 0; i < ext.n; i++) {
            const fp_val *e = &ext.items[i];
            if (e->kind != CW_FHIRPATH_NODE) continue;
            const struct cw_json *u = cw_json_get(e->u.node->value, "url");
            if (cw_json_is(u, CW_JSON_STRING) && cw_slice_eq(cw_json_text(u), url) &&
                fp_vec_push(ev, &v, *e) < 0)
                return -1;
        }
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_HASVALUE: {
        if (in.n != 1) return ret_bool(ev, false, out);
        const fp_val *it = &in.items[0];
        if (it->kind == CW_FHIRPATH_NODE)
            return ret_bool(ev, fp_node_is_primitive(it->u.node) && it->u.node->value != NULL, out);
        return ret_bool(ev, it->kind != CW_FHIRPATH_TYPEINFO, out);
    }
    case FP_FN_GETVALUE: {
        if (in.n != 1) return empty(out);
        fp_val s;
        if (in.items[0].kind == CW_FHIRPATH_NODE && fp_node_is_primitive(in.items[0].u.node) &&
            fp_to_system(ev, &in.items[0], &s) == 1)
            return fp_single(ev, s, out);
        return empty(out);
    }
    case FP_FN_RESOLVE: {
        struct fp_vec v = {0};
        if (fp_fn_resolve(ev, n, in, &v) < 0) return -1;
        *out = fp_vec_coll(&v);
        return 0;
    }
    case FP_FN_MEMBEROF:
    case FP_FN_CONFORMSTO: {
        if (in.n == 0) return empty(out);
        if (in.n > 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() on %zu items", fp_fn_table[n->fn].name,
                           in.n);
        cw_slice url;
        int a = arg_string(ev, n, fr, 0, &url);
        if (a <= 0) return a < 0 ? -1 : empty(out);
        int res;
        int rc = n->fn == FP_FN_MEMBEROF ? fp_fn_member_of(ev, n, &in.items[0], url, &res)
                                         : fp_fn_conforms_to(ev, n, &in.items[0], url, &res);
        if (rc < 0) return -1;
        if (res == FP_UNKNOWN) return empty(out);
        return ret_bool(ev, res == FP_TRUE, out);
    }
    case FP_FN_SUBSUMES:
    case FP_FN_SUBSUMEDBY: {
        if (in.n == 0) return empty(out);
        if (in.n > 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() on %zu items", fp_fn_table[n->fn].name,
                           in.n);
        fp_coll other;
        if (fp_eval(ev, n->args[0], fr, &other) < 0) return -1;
        if (other.n == 0) return empty(out);
        if (other.n > 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s() argument has %zu items",
                           fp_fn_table[n->fn].name, other.n);
        int res;
        const fp_val *a = &in.items[0], *b = &other.items[0];
        if (n->fn == FP_FN_SUBSUMEDBY) {
            const fp_val *t = a;
            a = b;
            b = t;
        }
        if (fp_fn_subsumes(ev, n, a, b, &res) < 0) return -1;
        if (res == FP_UNKNOWN) return empty(out);
        return ret_bool(ev, res == FP_TRUE, out);
    }
    case FP_FN_HTMLCHECKS: {
        if (in.n == 0) return empty(out);
        if (in.n > 1) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "htmlChecks() on %zu items", in.n);
        bool ok;
        if (fp_fn_html_checks(ev, &in.items[0], &ok) < 0) return -1;
        return ret_bool(ev, ok, out);
    }
    case FP_FN_ELEMENTDEFINITION:
        return fp_fail(ev, n, CW_ISSUE_NOT_SUPPORTED,
                       "elementDefinition() is not supported by this engine");
    default:
        return fp_fail(ev, n, CW_ISSUE_EXCEPTION, "function not implemented");
    }
}
