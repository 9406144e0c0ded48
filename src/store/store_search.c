/*
 * store_search.c — compile a search plan into parameterized SQL over the
 * index tables, run it, page it, and add _include / _revinclude results.
 *
 * Owns: nothing beyond one call (the query builder's buffers are freed before
 * return; results live in the caller's arena).
 *
 * Spec: FHIR R4 search.html — #ptypes, #prefix (date ranges: the search value
 * and the target value are both ranges; eq = the search range contains the
 * target, gt/lt = the range above/below intersects, sa/eb = strictly after /
 * before, ge/le = gt/lt or eq, ap = overlap of a widened range), #string
 * (starts-with, case/accent-insensitive; :exact; :contains), #token
 * (system|code, |code, system|, :not, :text), #number and #quantity (implicit
 * precision of the search value; a UCUM system|code the FHIRPath engine
 * knows is compared in canonical units, so 5|UCUM|g finds 5000 mg), #reference (id, Type/id, absolute URL,
 * :[type]), #uri (:below, :above), #composite, #chaining, #has, #missing,
 * #escaping (\, \$ \| \\), #_sort, #count, #total, #include (:iterate).
 *
 * Shape of the SQL (one statement per page):
 *   SELECT p.k, r.type, r.id, r.version, r.last_updated, r.json, p.s0, ...
 *   FROM (SELECT q.* FROM (SELECT h.rkey AS k, <sort keys> AS s0.. FROM
 *         resource_current h WHERE h.type = ? AND h.deleted = 0 AND <params>) q
 *         WHERE <after cursor> ORDER BY <keys>, q.k LIMIT ? OFFSET ?) p
 *   JOIN resource_current h ... JOIN resource r ... ORDER BY <keys>, p.k
 * where each parameter is `h.rkey [NOT] IN (SELECT x.rkey FROM idx_<type> x
 * WHERE x.rtype = ? AND x.param = ? AND (<value 1> OR <value 2> ...))`.
 *
 * Invariants: every value is a bound parameter; the order of '?' in the text
 * is the order of parameters (the builder appends both together); string
 * prefixes are matched as byte ranges [p, succ(p)) on folded text, so they
 * use the index and LIKE metacharacters in values mean nothing.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "store/store_int.h"

#define MAX_PARAMS_PER_PLAN 64
#define MAX_VALUES_PER_PARAM 100
#define MAX_SORT 8
#define MAX_SQL_PARAMS 30000

/* ---- builder ---- */

struct qb {
    struct cw_buf sql;
    struct cw_sqlv *p;
    size_t np, cap;
    struct cw_arena *a;
    struct cw_store *s;
    struct cw_err *err;
    int alias;
    bool failed;
    const struct cw_store_sp *correlate; /* emit this parameter as a correlated EXISTS */
};

static void qb_init(struct qb *b, struct cw_arena *a, struct cw_store *s, struct cw_err *err)
{
    memset(b, 0, sizeof *b);
    cw_buf_init(&b->sql, (size_t)4 << 20);
    b->a = a;
    b->s = s;
    b->err = err;
}

static void qb_release(struct qb *b)
{
    cw_buf_release(&b->sql);
    free(b->p);
}

__attribute__((format(printf, 4, 5))) static int qb_fail_(struct qb *b, enum cw_issue issue,
                                                             cw_slice where, const char *fmt, ...)
{
    if (!b->failed) {
        va_list ap;
        va_start(ap, fmt);
        cw_err_vset(b->err, issue, fmt, ap);
        va_end(ap);
        cw_err_at_slice(b->err, where);
    }
    b->failed = true;
    return -1;
}

/* Fail with a message naming the parameter 'where' (a code, never a value). */
#define qb_fail(b, issue, fmt, where) qb_fail_((b), (issue), (where), fmt, CW_SLICE_FMT(where))

static void S(struct qb *b, const char *s)
{
    cw_buf_puts(&b->sql, s);
}

static void P(struct qb *b, struct cw_sqlv v)
{
    if (b->np == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 32;
        struct cw_sqlv *n = realloc(b->p, ncap * sizeof *n);
        if (!n) {
            b->failed = true;
            cw_err_set(b->err, CW_ISSUE_EXCEPTION, "store: out of memory");
            return;
        }
        b->p = n;
        b->cap = ncap;
    }
    b->p[b->np++] = v;
    cw_buf_putc(&b->sql, '?');
}

static void PT(struct qb *b, cw_slice s)
{
    P(b, cw_sqlv_text(s));
}

static void PI(struct qb *b, long long i)
{
    P(b, cw_sqlv_int(i));
}

static void PR(struct qb *b, double d)
{
    P(b, cw_sqlv_real(d));
}

/* Alias name "xN" in the arena. */
static const char *alias(struct qb *b, char c)
{
    char *n = cw_arena_printf(b->a, "%c%d", c, b->alias++);
    if (!n) {
        b->failed = true;
        cw_err_set(b->err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        return "x";
    }
    return n;
}

static void SA(struct qb *b, const char *al, const char *col)
{
    cw_buf_printf(&b->sql, "%s.%s", al, col);
}

/* ---- value text helpers ---- */

/* Index of the first separator c not preceded by an escaping backslash, or -1. */
static long find_unescaped(cw_slice s, char c)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\\' && i + 1 < s.len) {
            i++;
            continue;
        }
        if (s.ptr[i] == c) return (long)i;
    }
    return -1;
}

/* search.html#escaping: \, \$ \| \\ stand for the character; other backslashes stay. */
static cw_slice unescape(struct qb *b, cw_slice s)
{
    if (!memchr(s.ptr ? s.ptr : "", '\\', s.len)) return s;
    char *o = cw_arena_alloc_bytes(b->a, s.len + 1);
    if (!o) {
        b->failed = true;
        cw_err_set(b->err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        return CW_LIT("");
    }
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\\' && i + 1 < s.len &&
            (s.ptr[i + 1] == ',' || s.ptr[i + 1] == '$' || s.ptr[i + 1] == '|' ||
             s.ptr[i + 1] == '\\'))
            i++;
        o[n++] = s.ptr[i];
    }
    o[n] = '\0';
    return (cw_slice){o, n};
}

static cw_slice fold(struct qb *b, cw_slice s)
{
    cw_slice f = cw_store_fold(b->a, s);
    if (!f.ptr) {
        b->failed = true;
        cw_err_set(b->err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        return CW_LIT("");
    }
    return f;
}

/*
 * The smallest string above every string that starts with s (byte order =
 * code point order for UTF-8): the last code point incremented, dropping
 * trailing U+10FFFF. {NULL,0} when there is none (empty prefix).
 */
static cw_slice succ(struct qb *b, cw_slice s)
{
    char *o = cw_arena_alloc_bytes(b->a, s.len + 4);
    if (!o) {
        b->failed = true;
        cw_err_set(b->err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        return CW_SLICE_NULL;
    }
    size_t n = s.len;
    memcpy(o, s.ptr, n);
    while (n > 0) {
        /* last code point */
        size_t st = n - 1;
        while (st > 0 && ((unsigned char)o[st] & 0xc0) == 0x80) st--;
        const unsigned char *u = (const unsigned char *)o + st;
        uint32_t cp;
        size_t k = n - st;
        if (k == 1 && u[0] < 0x80) cp = u[0];
        else if (k == 2) cp = ((uint32_t)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
        else if (k == 3) cp = ((uint32_t)(u[0] & 0x0f) << 12) | ((uint32_t)(u[1] & 0x3f) << 6) | (u[2] & 0x3f);
        else if (k == 4)
            cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3f) << 12) |
                 ((uint32_t)(u[2] & 0x3f) << 6) | (u[3] & 0x3f);
        else {
            /* invalid byte: increment it as a byte */
            if ((unsigned char)o[n - 1] < 0xff) {
                o[n - 1] = (char)((unsigned char)o[n - 1] + 1);
                return (cw_slice){o, n};
            }
            n--;
            continue;
        }
        cp++;
        if (cp == 0xd800) cp = 0xe000;
        if (cp > 0x10ffff) {
            n = st;
            continue;
        }
        n = st;
        if (cp < 0x80) o[n++] = (char)cp;
        else if (cp < 0x800) {
            o[n++] = (char)(0xc0 | (cp >> 6));
            o[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            o[n++] = (char)(0xe0 | (cp >> 12));
            o[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            o[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            o[n++] = (char)(0xf0 | (cp >> 18));
            o[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            o[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            o[n++] = (char)(0x80 | (cp & 0x3f));
        }
        return (cw_slice){o, n};
    }
    return CW_SLICE_NULL;
}

/* col >= prefix AND col < succ(prefix) */
static void starts_with(struct qb *b, const char *al, const char *col, cw_slice prefix)
{
    cw_slice up = succ(b, prefix);
    S(b, "(");
    SA(b, al, col);
    S(b, " >= ");
    PT(b, prefix);
    if (up.ptr) {
        S(b, " AND ");
        SA(b, al, col);
        S(b, " < ");
        PT(b, up);
    }
    S(b, ")");
}

/* %value% with LIKE metacharacters escaped by '\'. */
static cw_slice like_contains(struct qb *b, cw_slice v)
{
    char *o = cw_arena_alloc_bytes(b->a, v.len * 2 + 3);
    if (!o) {
        b->failed = true;
        cw_err_set(b->err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        return CW_LIT("%");
    }
    size_t n = 0;
    o[n++] = '%';
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] == '%' || v.ptr[i] == '_' || v.ptr[i] == '\\') o[n++] = '\\';
        o[n++] = v.ptr[i];
    }
    o[n++] = '%';
    return (cw_slice){o, n};
}

static const char *table_of(enum cw_store_ptype t)
{
    switch (t) {
    case CW_SP_STRING: return "idx_string";
    case CW_SP_TOKEN: return "idx_token";
    case CW_SP_DATE: return "idx_date";
    case CW_SP_REFERENCE: return "idx_reference";
    case CW_SP_QUANTITY: return "idx_quantity";
    case CW_SP_NUMBER: return "idx_number";
    case CW_SP_URI: return "idx_uri";
    default: return NULL;
    }
}

static bool has_nul(cw_slice s)
{
    return s.len && memchr(s.ptr, '\0', s.len) != NULL;
}

/* ---- value matches on index alias al ---- */

static int match_date_range(struct qb *b, const char *lo, const char *hi, enum cw_store_prefix px,
                            int64_t slo, int64_t shi)
{
    switch (px) {
    case CW_PFX_EQ:
        cw_buf_printf(&b->sql, "(%s >= ", lo); PI(b, slo);
        cw_buf_printf(&b->sql, " AND %s <= ", hi); PI(b, shi); S(b, ")");
        break;
    case CW_PFX_NE:
        cw_buf_printf(&b->sql, "(%s < ", lo); PI(b, slo);
        cw_buf_printf(&b->sql, " OR %s > ", hi); PI(b, shi); S(b, ")");
        break;
    case CW_PFX_GT: cw_buf_printf(&b->sql, "%s > ", hi); PI(b, shi); break;
    case CW_PFX_LT: cw_buf_printf(&b->sql, "%s < ", lo); PI(b, slo); break;
    case CW_PFX_GE:
        cw_buf_printf(&b->sql, "(%s > ", hi); PI(b, shi);
        cw_buf_printf(&b->sql, " OR (%s >= ", lo); PI(b, slo);
        cw_buf_printf(&b->sql, " AND %s <= ", hi); PI(b, shi); S(b, "))");
        break;
    case CW_PFX_LE:
        cw_buf_printf(&b->sql, "(%s < ", lo); PI(b, slo);
        cw_buf_printf(&b->sql, " OR (%s >= ", lo); PI(b, slo);
        cw_buf_printf(&b->sql, " AND %s <= ", hi); PI(b, shi); S(b, "))");
        break;
    case CW_PFX_SA: cw_buf_printf(&b->sql, "%s >= ", lo); PI(b, shi); break;
    case CW_PFX_EB: cw_buf_printf(&b->sql, "%s <= ", hi); PI(b, slo); break;
    case CW_PFX_AP: {
        /* Overlap with the search range widened by 10% of its distance from now
           (at least its own length), the usual reading of "approximately". */
        int64_t now = cw_store_now();
        int64_t dist = now > slo ? now - slo : slo - now;
        int64_t w = dist / 10;
        if (w < shi - slo) w = shi - slo;
        int64_t a = slo > INT64_MIN + w ? slo - w : INT64_MIN;
        int64_t z = shi < INT64_MAX - w ? shi + w : INT64_MAX;
        cw_buf_printf(&b->sql, "(%s < ", lo); PI(b, z);
        cw_buf_printf(&b->sql, " AND %s > ", hi); PI(b, a); S(b, ")");
        break;
    }
    }
    return 0;
}

/* factor: the search value's unit in canonical units (1 for plain numbers);
   the value and its precision are both scaled. */
static int match_number(struct qb *b, const char *col, enum cw_store_prefix px, cw_slice text,
                        cw_slice code, double factor)
{
    double d;
    int dec;
    if (cw_store_parse_decimal(text, &d, &dec) < 0)
        return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: not a number", code);
    /* search.html#number: eq means within the implicit precision of the value. */
    double half = 0.5 * pow(10.0, -(double)dec) * factor;
    d *= factor;
    switch (px) {
    case CW_PFX_EQ:
        cw_buf_printf(&b->sql, "(%s >= ", col); PR(b, d - half);
        cw_buf_printf(&b->sql, " AND %s < ", col); PR(b, d + half); S(b, ")");
        break;
    case CW_PFX_NE:
        cw_buf_printf(&b->sql, "(%s < ", col); PR(b, d - half);
        cw_buf_printf(&b->sql, " OR %s >= ", col); PR(b, d + half); S(b, ")");
        break;
    case CW_PFX_GT: case CW_PFX_SA: cw_buf_printf(&b->sql, "%s > ", col); PR(b, d); break;
    case CW_PFX_LT: case CW_PFX_EB: cw_buf_printf(&b->sql, "%s < ", col); PR(b, d); break;
    case CW_PFX_GE: cw_buf_printf(&b->sql, "%s >= ", col); PR(b, d); break;
    case CW_PFX_LE: cw_buf_printf(&b->sql, "%s <= ", col); PR(b, d); break;
    case CW_PFX_AP: {
        double w = fabs(d) * 0.1;
        if (w < half) w = half;
        cw_buf_printf(&b->sql, "(%s >= ", col); PR(b, d - w);
        cw_buf_printf(&b->sql, " AND %s <= ", col); PR(b, d + w); S(b, ")");
        break;
    }
    }
    return 0;
}

static bool is_absolute(cw_slice v)
{
    return cw_slice_starts_with(v, CW_LIT("http://")) || cw_slice_starts_with(v, CW_LIT("https://")) ||
           cw_slice_starts_with(v, CW_LIT("urn:"));
}

/* One value of a (non-composite) parameter of type ty, on index alias al. */
static int match_value(struct qb *b, const struct cw_store_sp *sp, enum cw_store_ptype ty,
                       enum cw_store_modifier mod, const char *al, enum cw_store_prefix px,
                       cw_slice raw)
{
    char lo[32], hi[32], col[32];
    if (has_nul(raw)) return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: NUL in value", sp->code);
    switch (ty) {
    case CW_SP_STRING: {
        cw_slice v = unescape(b, raw);
        if (mod == CW_MOD_EXACT) {
            S(b, "(");
            SA(b, al, "norm");
            S(b, " = ");
            PT(b, fold(b, v));
            S(b, " AND ");
            SA(b, al, "exact");
            S(b, " = ");
            PT(b, v);
            S(b, ")");
        } else if (mod == CW_MOD_CONTAINS) {
            SA(b, al, "norm");
            S(b, " LIKE ");
            PT(b, like_contains(b, fold(b, v)));
            S(b, " ESCAPE '\\'");
        } else if (mod == CW_MOD_NONE) {
            starts_with(b, al, "norm", fold(b, v));
        } else {
            return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: modifier not supported on string parameter %.*s", sp->code);
        }
        return 0;
    }
    case CW_SP_TOKEN: {
        if (mod == CW_MOD_TEXT) {
            starts_with(b, al, "text", fold(b, unescape(b, raw)));
            return 0;
        }
        if (mod != CW_MOD_NONE && mod != CW_MOD_NOT)
            return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: modifier not supported on token parameter %.*s (needs terminology)", sp->code);
        long bar = find_unescaped(raw, '|');
        if (bar < 0) {
            SA(b, al, "code");
            S(b, " = ");
            PT(b, unescape(b, raw));
            return 0;
        }
        cw_slice sys = unescape(b, cw_slice_sub(raw, 0, (size_t)bar));
        cw_slice code = unescape(b, cw_slice_sub(raw, (size_t)bar + 1, raw.len - (size_t)bar - 1));
        S(b, "(");
        SA(b, al, "system");
        S(b, " = ");
        PT(b, sys); /* "|code": system must be absent (stored as "") */
        if (code.len) {
            S(b, " AND ");
            SA(b, al, "code");
            S(b, " = ");
            PT(b, code);
        }
        S(b, ")");
        return 0;
    }
    case CW_SP_DATE: {
        int64_t slo, shi;
        if (cw_store_date_range(raw, &slo, &shi) < 0)
            return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: not a FHIR date", sp->code);
        snprintf(lo, sizeof lo, "%s.lo", al);
        snprintf(hi, sizeof hi, "%s.hi", al);
        return match_date_range(b, lo, hi, px, slo, shi);
    }
    case CW_SP_NUMBER:
        snprintf(col, sizeof col, "%s.value", al);
        return match_number(b, col, px, raw, sp->code, 1.0);
    case CW_SP_QUANTITY: {
        long b1 = find_unescaped(raw, '|');
        cw_slice num = raw, sys = CW_LIT(""), unit = CW_LIT("");
        if (b1 >= 0) {
            cw_slice rest = cw_slice_sub(raw, (size_t)b1 + 1, raw.len - (size_t)b1 - 1);
            long b2 = find_unescaped(rest, '|');
            if (b2 < 0)
                return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: quantity wants number|system|code", sp->code);
            num = cw_slice_sub(raw, 0, (size_t)b1);
            sys = unescape(b, cw_slice_sub(rest, 0, (size_t)b2));
            unit = unescape(b, cw_slice_sub(rest, (size_t)b2 + 1, rest.len - (size_t)b2 - 1));
        }
        double f;
        char key[96];
        if (cw_slice_eq_cstr(sys, "http://unitsofmeasure.org") && unit.len &&
            cw_fhirpath_ucum_canonical(unit, &f, key, sizeof key) == 0) {
            /* canonical rows carry the dimension key, which only UCUM rows have */
            char *k = cw_arena_printf(b->a, "%s", key);
            if (!k) return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: arena limit at parameter %.*s", sp->code);
            snprintf(col, sizeof col, "%s.canon_value", al);
            S(b, "(");
            if (match_number(b, col, px, num, sp->code, f) < 0) return -1;
            S(b, " AND ");
            SA(b, al, "canon_code");
            S(b, " = ");
            PT(b, cw_slice_cstr(k));
            S(b, ")");
            return 0;
        }
        snprintf(col, sizeof col, "%s.value", al);
        S(b, "(");
        if (match_number(b, col, px, num, sp->code, 1.0) < 0) return -1;
        if (sys.len) {
            S(b, " AND ");
            SA(b, al, "system");
            S(b, " = ");
            PT(b, sys);
        }
        if (unit.len) {
            S(b, " AND ");
            SA(b, al, "code");
            S(b, " = ");
            PT(b, unit);
        }
        S(b, ")");
        return 0;
    }
    case CW_SP_REFERENCE: {
        if (mod != CW_MOD_NONE && mod != CW_MOD_TYPE)
            return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: modifier not supported on reference parameter %.*s", sp->code);
        cw_slice v = unescape(b, raw);
        if (is_absolute(v)) {
            SA(b, al, "url");
            S(b, " = ");
            PT(b, v);
            return 0;
        }
        cw_slice type = CW_LIT(""), id = v, ver = CW_LIT("");
        long sl = cw_slice_index(v, '/');
        if (sl >= 0) {
            type = cw_slice_sub(v, 0, (size_t)sl);
            id = cw_slice_sub(v, (size_t)sl + 1, v.len - (size_t)sl - 1);
            long s2 = cw_slice_index(id, '/');
            if (s2 >= 0) {
                cw_slice rest = cw_slice_sub(id, (size_t)s2 + 1, id.len - (size_t)s2 - 1);
                id = cw_slice_sub(id, 0, (size_t)s2);
                if (!cw_slice_starts_with(rest, CW_LIT("_history/")) || rest.len == 9)
                    return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: bad reference", sp->code);
                ver = cw_slice_sub(rest, 9, rest.len - 9);
            }
        } else if (mod == CW_MOD_TYPE || sp->target_type.len) {
            type = sp->target_type;
        }
        S(b, "(");
        SA(b, al, "target_id");
        S(b, " = ");
        PT(b, id);
        if (type.len) {
            S(b, " AND ");
            SA(b, al, "target_type");
            S(b, " = ");
            PT(b, type);
        }
        if (ver.len) {
            S(b, " AND ");
            SA(b, al, "target_version");
            S(b, " = ");
            PT(b, ver);
        }
        S(b, ")");
        return 0;
    }
    case CW_SP_URI: {
        cw_slice v = unescape(b, raw);
        if (mod == CW_MOD_NONE) {
            SA(b, al, "uri");
            S(b, " = ");
            PT(b, v);
        } else if (mod == CW_MOD_BELOW) {
            starts_with(b, al, "uri", v);
        } else if (mod == CW_MOD_ABOVE) {
            /* Stored uris that are a prefix of v at a '/' boundary, or v itself. */
            SA(b, al, "uri");
            S(b, " IN (");
            PT(b, v);
            for (size_t i = v.len; i-- > 0;) {
                if (v.ptr[i] == '/' && i > 0 && v.ptr[i - 1] != '/') {
                    S(b, ", ");
                    PT(b, cw_slice_sub(v, 0, i));
                }
            }
            S(b, ")");
        } else {
            return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: modifier not supported on uri parameter %.*s", sp->code);
        }
        return 0;
    }
    default:
        return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s has no type", sp->code);
    }
}

/* x.rtype = <rtype>: a bound type, or the outer head alias' type when unknown. */
static void rtype_eq(struct qb *b, const char *x, const char *h, cw_slice rtype)
{
    SA(b, x, "rtype");
    S(b, " = ");
    if (rtype.len) PT(b, rtype);
    else SA(b, h, "type");
}

static int emit_sp(struct qb *b, const struct cw_store_sp *sp, const char *h, cw_slice rtype,
                   int depth);

/*
 * True when sp compiles to `h.rkey IN (rows of index tables with rtype = the
 * type)`: then `h.type = ?` is implied, and leaving it out lets the planner
 * drive the query from the index rows (rowid lookups) instead of scanning
 * every resource of the type (SQLite has no statistics to see that).
 */
static bool drives_by_rkey(const struct cw_store_sp *sp, cw_slice rtype)
{
    if (!rtype.len) return false;
    if (sp->kind == CW_SPK_CHAIN) return true;
    if (sp->kind != CW_SPK_PARAM) return false;
    if (sp->modifier == CW_MOD_NOT || sp->modifier == CW_MOD_MISSING) return false;
    return !cw_slice_eq_cstr(sp->code, "_id") && !cw_slice_eq_cstr(sp->code, "_lastUpdated");
}

/* "h.type = ? AND " unless the condition that follows implies it. */
static void type_guard(struct qb *b, const char *h, cw_slice type, const struct cw_store_sp *next)
{
    if (next && drives_by_rkey(next, type)) return;
    cw_buf_printf(&b->sql, "%s.type = ", h);
    PT(b, type);
    S(b, " AND ");
}

static int emit_values_or(struct qb *b, const struct cw_store_sp *sp, const char *x)
{
    S(b, "(");
    for (size_t i = 0; i < sp->nvalues; i++) {
        if (i) S(b, " OR ");
        if (match_value(b, sp, sp->type, sp->modifier, x, sp->values[i].prefix, sp->values[i].text) < 0)
            return -1;
    }
    S(b, ")");
    return 0;
}

static int emit_composite(struct qb *b, const struct cw_store_sp *sp, const char *h, cw_slice rtype)
{
    if (sp->ncomp < 2 || sp->ncomp > 4 || !sp->comp_types)
        return qb_fail(b, CW_ISSUE_INVALID, "store: composite parameter %.*s needs 2-4 component types", sp->code);
    const char *al[4];
    for (size_t c = 0; c < sp->ncomp; c++) {
        if (!table_of(sp->comp_types[c]))
            return qb_fail(b, CW_ISSUE_INVALID, "store: composite parameter %.*s: bad component type", sp->code);
        al[c] = alias(b, 'c');
    }
    SA(b, h, "rkey");
    cw_buf_printf(&b->sql, " IN (SELECT %s.rkey FROM %s %s", al[0], table_of(sp->comp_types[0]), al[0]);
    for (size_t c = 1; c < sp->ncomp; c++)
        cw_buf_printf(&b->sql,
                      " JOIN %s %s ON %s.rkey = %s.rkey AND %s.param = %s.param AND %s.grp = %s.grp "
                      "AND %s.comp = %zu",
                      table_of(sp->comp_types[c]), al[c], al[c], al[0], al[c], al[0], al[c], al[0],
                      al[c], c);
    S(b, " WHERE ");
    rtype_eq(b, al[0], h, rtype);
    cw_buf_printf(&b->sql, " AND %s.param = ", al[0]);
    PT(b, sp->code);
    cw_buf_printf(&b->sql, " AND %s.comp = 0 AND (", al[0]);
    for (size_t i = 0; i < sp->nvalues; i++) {
        if (i) S(b, " OR ");
        cw_slice rest = sp->values[i].text;
        S(b, "(");
        for (size_t c = 0; c < sp->ncomp; c++) {
            long d = find_unescaped(rest, '$');
            if ((c + 1 < sp->ncomp) != (d >= 0))
                return qb_fail(b, CW_ISSUE_INVALID, "store: composite parameter %.*s: wrong number of '$' components", sp->code);
            cw_slice part = d >= 0 ? cw_slice_sub(rest, 0, (size_t)d) : rest;
            if (d >= 0) rest = cw_slice_sub(rest, (size_t)d + 1, rest.len - (size_t)d - 1);
            enum cw_store_prefix px = CW_PFX_EQ;
            enum cw_store_ptype ct = sp->comp_types[c];
            if (ct == CW_SP_DATE || ct == CW_SP_NUMBER || ct == CW_SP_QUANTITY)
                px = cw_store_parse_prefix(part, &part);
            if (c) S(b, " AND ");
            if (match_value(b, sp, ct, CW_MOD_NONE, al[c], px, part) < 0) return -1;
        }
        S(b, ")");
    }
    S(b, "))");
    return 0;
}

static int emit_param(struct qb *b, const struct cw_store_sp *sp, const char *h, cw_slice rtype)
{
    if (sp->nvalues == 0)
        return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s has no value", sp->code);
    if (sp->nvalues > MAX_VALUES_PER_PARAM)
        return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: parameter %.*s has too many values", sp->code);
    /* :missing (search.html#missing) */
    if (sp->modifier == CW_MOD_MISSING) {
        if (sp->nvalues != 1) return qb_fail(b, CW_ISSUE_INVALID, "store: %.*s:missing wants one value", sp->code);
        bool want_missing;
        if (cw_slice_eq_cstr(sp->values[0].text, "true")) want_missing = true;
        else if (cw_slice_eq_cstr(sp->values[0].text, "false")) want_missing = false;
        else return qb_fail(b, CW_ISSUE_INVALID, "store: %.*s:missing wants true or false", sp->code);
        if (cw_slice_eq_cstr(sp->code, "_id") || cw_slice_eq_cstr(sp->code, "_lastUpdated")) {
            S(b, want_missing ? "1 = 0" : "1 = 1");
            return 0;
        }
        const char *tab = table_of(sp->type == CW_SP_COMPOSITE ? (sp->comp_types && sp->ncomp ? sp->comp_types[0] : CW_SP_NONE) : sp->type);
        if (!tab) return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s has no type", sp->code);
        const char *x = alias(b, 'x');
        SA(b, h, "rkey");
        cw_buf_printf(&b->sql, "%s IN (SELECT %s.rkey FROM %s %s WHERE ", want_missing ? " NOT" : "", x, tab, x);
        rtype_eq(b, x, h, rtype);
        cw_buf_printf(&b->sql, " AND %s.param = ", x);
        PT(b, sp->code);
        S(b, ")");
        return 0;
    }
    if (cw_slice_eq_cstr(sp->code, "_id")) {
        if (sp->modifier != CW_MOD_NONE && sp->modifier != CW_MOD_NOT)
            return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: modifier not supported on %.*s", sp->code);
        SA(b, h, "id");
        S(b, sp->modifier == CW_MOD_NOT ? " NOT IN (" : " IN (");
        for (size_t i = 0; i < sp->nvalues; i++) {
            if (i) S(b, ", ");
            if (has_nul(sp->values[i].text)) return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: NUL in value", sp->code);
            PT(b, unescape(b, sp->values[i].text));
        }
        S(b, ")");
        return 0;
    }
    if (cw_slice_eq_cstr(sp->code, "_lastUpdated")) {
        if (sp->modifier != CW_MOD_NONE)
            return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: modifier not supported on %.*s", sp->code);
        char lo[32], hi[32];
        snprintf(lo, sizeof lo, "%s.last_updated", h);
        snprintf(hi, sizeof hi, "(%s.last_updated + 1)", h);
        S(b, "(");
        for (size_t i = 0; i < sp->nvalues; i++) {
            int64_t slo, shi;
            if (i) S(b, " OR ");
            if (cw_store_date_range(sp->values[i].text, &slo, &shi) < 0)
                return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s: not a FHIR date", sp->code);
            match_date_range(b, lo, hi, sp->values[i].prefix, slo, shi);
        }
        S(b, ")");
        return 0;
    }
    if (sp->type == CW_SP_COMPOSITE) return emit_composite(b, sp, h, rtype);
    const char *tab = table_of(sp->type);
    if (!tab) return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s has no type", sp->code);
    const char *x = alias(b, 'x');
    /* :not (search.html#token): resources with no matching value, including
       those without the parameter. */
    bool neg = sp->modifier == CW_MOD_NOT;
    if (neg && sp->type != CW_SP_TOKEN)
        return qb_fail(b, CW_ISSUE_NOT_SUPPORTED, "store: :not is for token parameters (%.*s)", sp->code);
    if (b->correlate == sp) {
        /* A parameter next to a selective driver (emit_where): checked per
           candidate through the (rkey, seq) key instead of collecting every
           matching row first. */
        /* no rtype term: the rkey implies it, and without it the (rtype,
           param, ...) value index cannot be picked over the primary key */
        cw_buf_printf(&b->sql, "EXISTS (SELECT 1 FROM %s %s WHERE %s.rkey = %s.rkey", tab, x, x, h);
        cw_buf_printf(&b->sql, " AND %s.param = ", x);
        PT(b, sp->code);
        S(b, " AND ");
        if (emit_values_or(b, sp, x) < 0) return -1;
        S(b, ")");
        return 0;
    }
    SA(b, h, "rkey");
    cw_buf_printf(&b->sql, "%s IN (SELECT %s.rkey FROM %s %s WHERE ", neg ? " NOT" : "", x, tab, x);
    rtype_eq(b, x, h, rtype);
    cw_buf_printf(&b->sql, " AND %s.param = ", x);
    PT(b, sp->code);
    S(b, " AND ");
    if (emit_values_or(b, sp, x) < 0) return -1;
    S(b, ")");
    return 0;
}

static int emit_sp(struct qb *b, const struct cw_store_sp *sp, const char *h, cw_slice rtype,
                   int depth)
{
    if (depth > CW_STORE_MAX_CHAIN_DEPTH)
        return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: chain under %.*s is too deep", sp->code);
    if (b->failed) return -1;
    switch (sp->kind) {
    case CW_SPK_PARAM: return emit_param(b, sp, h, rtype);
    case CW_SPK_CHAIN: {
        /* search.html#chaining: h has a reference (param code) to a resource
           that matches inner. */
        if (!sp->inner) return qb_fail(b, CW_ISSUE_INVALID, "store: chain %.*s has no inner parameter", sp->code);
        if (sp->target_type.len && !cw_store_valid_type(sp->target_type))
            return qb_fail(b, CW_ISSUE_INVALID, "store: chain %.*s: bad target type", sp->code);
        const char *x = alias(b, 'x'), *h2 = alias(b, 'h');
        SA(b, h, "rkey");
        cw_buf_printf(&b->sql, " IN (SELECT %s.rkey FROM idx_reference %s WHERE ", x, x);
        rtype_eq(b, x, h, rtype);
        cw_buf_printf(&b->sql, " AND %s.param = ", x);
        PT(b, sp->code);
        if (sp->target_type.len) {
            cw_buf_printf(&b->sql, " AND %s.target_type = ", x);
            PT(b, sp->target_type);
            cw_buf_printf(&b->sql, " AND %s.target_id IN (SELECT %s.id FROM resource_current %s WHERE ",
                          x, h2, h2);
            type_guard(b, h2, sp->target_type, sp->inner);
        } else {
            cw_buf_printf(&b->sql, " AND (%s.target_type, %s.target_id) IN (SELECT %s.type, %s.id FROM "
                                   "resource_current %s WHERE ", x, x, h2, h2, h2);
        }
        cw_buf_printf(&b->sql, "%s.deleted = 0 AND ", h2);
        if (emit_sp(b, sp->inner, h2, sp->target_type, depth + 1) < 0) return -1;
        S(b, "))");
        return 0;
    }
    case CW_SPK_HAS: {
        /* search.html#has: some has_type resource whose has_ref points at h
           matches inner. */
        if (!sp->inner || !cw_store_valid_type(sp->has_type) || sp->has_ref.len == 0)
            return qb_fail(b, CW_ISSUE_INVALID, "store: _has %.*s needs a type, a reference parameter and an inner parameter", sp->has_type);
        const char *x = alias(b, 'x'), *h2 = alias(b, 'h');
        SA(b, h, "id");
        cw_buf_printf(&b->sql, " IN (SELECT %s.target_id FROM idx_reference %s WHERE %s.rtype = ", x, x, x);
        PT(b, sp->has_type);
        cw_buf_printf(&b->sql, " AND %s.param = ", x);
        PT(b, sp->has_ref);
        cw_buf_printf(&b->sql, " AND %s.target_type = ", x);
        if (rtype.len) PT(b, rtype);
        else SA(b, h, "type");
        cw_buf_printf(&b->sql, " AND %s.rkey IN (SELECT %s.rkey FROM resource_current %s WHERE ",
                      x, h2, h2);
        type_guard(b, h2, sp->has_type, sp->inner);
        cw_buf_printf(&b->sql, "%s.deleted = 0 AND ", h2);
        if (emit_sp(b, sp->inner, h2, sp->has_type, depth + 1) < 0) return -1;
        S(b, "))");
        return 0;
    }
    }
    return qb_fail(b, CW_ISSUE_INVALID, "store: parameter %.*s has an unknown kind", sp->code);
}

/* WHERE conditions of a plan on head alias h0 (after "h0.type = ? AND h0.deleted = 0"). */
/* A plain range parameter (date, number, quantity): many index rows match
   a range, few match an equality. */
static bool is_range(const struct cw_store_sp *sp)
{
    return sp->kind == CW_SPK_PARAM && sp->modifier == CW_MOD_NONE &&
           (sp->type == CW_SP_DATE || sp->type == CW_SP_NUMBER || sp->type == CW_SP_QUANTITY) &&
           !cw_slice_eq_cstr(sp->code, "_lastUpdated");
}

/*
 * Can sp be checked per candidate row as `EXISTS (SELECT 1 FROM idx_<type> x
 * WHERE x.rkey = h0.rkey AND x.param = ? AND <values>)`? Any plain parameter
 * of one index table can (a primary-key probe over the candidate's own rows);
 * negations (:not, :missing), composites, chains, _has and the head columns
 * (_id, _lastUpdated) keep their own forms.
 */
static bool can_correlate(const struct cw_store_sp *sp)
{
    return sp->kind == CW_SPK_PARAM && sp->type != CW_SP_COMPOSITE && sp->type != CW_SP_NONE &&
           sp->modifier != CW_MOD_NOT && sp->modifier != CW_MOD_MISSING &&
           !cw_slice_eq_cstr(sp->code, "_id") && !cw_slice_eq_cstr(sp->code, "_lastUpdated");
}

/*
 * How well a parameter narrows the candidates when it drives the query
 * (lower is better). Without value statistics the choice is by kind: a
 * reference names one resource (patient=123: that patient's rows only); a
 * token or uri an exact value, though a common one (code=8302-2) may match
 * a tenth of a type; strings are prefixes; ranges come last.
 */
static int drive_rank(const struct cw_store_sp *sp)
{
    if (is_range(sp)) return 9;
    if (sp->kind == CW_SPK_CHAIN) return 5;
    switch (sp->type) {
    case CW_SP_REFERENCE: return sp->modifier == CW_MOD_IDENTIFIER ? 2 : 1;
    case CW_SP_TOKEN: return sp->modifier == CW_MOD_TEXT ? 4 : 2;
    case CW_SP_URI: return sp->modifier == CW_MOD_NONE ? 2 : 4;
    case CW_SP_STRING: return sp->modifier == CW_MOD_EXACT ? 3 : 4;
    default: return 6;
    }
}

static int emit_where(struct qb *b, const struct cw_store_plan *plan)
{
    S(b, " FROM resource_current h0 WHERE ");
    /* The driver: the best-ranked parameter that can drive by rkey (ties: the
       first given). Its rows are collected once (`h0.rkey IN (...)`); every
       other plain parameter is then checked per candidate through the index
       tables' (rkey, seq) key, so a common value (code=8302-2 on a million
       Observations) is never collected in full. */
    const struct cw_store_sp *driver = NULL;
    int best = 100;
    for (size_t i = 0; i < plan->nparams; i++) {
        const struct cw_store_sp *sp = &plan->params[i];
        if (!drives_by_rkey(sp, plan->type)) continue;
        int r = drive_rank(sp);
        if (r < best) {
            best = r;
            driver = sp;
        }
    }
    bool selective = driver != NULL && !is_range(driver);
    type_guard(b, "h0", plan->type, driver);
    S(b, "h0.deleted = 0");
    if (driver) {
        /* the driver first, so the engines start from it */
        S(b, " AND ");
        if (emit_sp(b, driver, "h0", plan->type, 0) < 0) return -1;
    }
    for (size_t i = 0; i < plan->nparams; i++) {
        const struct cw_store_sp *sp = &plan->params[i];
        if (sp == driver) continue;
        S(b, " AND ");
        b->correlate = selective && can_correlate(sp) ? sp : NULL;
        int rc = emit_sp(b, sp, "h0", plan->type, 0);
        b->correlate = NULL;
        if (rc < 0) return -1;
    }
    return b->failed ? -1 : 0;
}

/* ---- sort keys and cursors ---- */

enum key_kind { KEY_INT, KEY_REAL, KEY_TEXT };

struct sortkey {
    enum key_kind kind;
    bool desc;
};

static int emit_sort_expr(struct qb *b, const struct cw_store_sort *so, struct sortkey *k)
{
    k->desc = so->desc;
    if (cw_slice_eq_cstr(so->code, "_id")) {
        k->kind = KEY_TEXT;
        S(b, "h0.id");
        return 0;
    }
    if (cw_slice_eq_cstr(so->code, "_lastUpdated")) {
        k->kind = KEY_INT;
        S(b, "h0.last_updated");
        return 0;
    }
    const char *col;
    switch (so->type) {
    case CW_SP_STRING: col = "norm"; k->kind = KEY_TEXT; break;
    case CW_SP_TOKEN: col = "code"; k->kind = KEY_TEXT; break;
    case CW_SP_DATE: col = so->desc ? "hi" : "lo"; k->kind = KEY_INT; break;
    case CW_SP_REFERENCE: col = "target_id"; k->kind = KEY_TEXT; break;
    case CW_SP_QUANTITY: case CW_SP_NUMBER: col = "value"; k->kind = KEY_REAL; break;
    case CW_SP_URI: col = "uri"; k->kind = KEY_TEXT; break;
    default: return qb_fail(b, CW_ISSUE_INVALID, "store: _sort on %.*s: no parameter type", so->code);
    }
    /* search.html#_sort: ascending by the lowest value, descending by the highest. */
    const char *x = alias(b, 'x');
    cw_buf_printf(&b->sql, "(SELECT %s(%s.%s) FROM %s %s WHERE %s.rkey = h0.rkey AND %s.param = ",
                  so->desc ? "MAX" : "MIN", x, col, table_of(so->type), x, x, x);
    PT(b, so->code);
    S(b, ")");
    return 0;
}

/* base64url without padding */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static cw_slice b64_encode(struct cw_arena *a, cw_slice in)
{
    char *o = cw_arena_alloc_bytes(a, in.len / 3 * 4 + 5);
    if (!o) return CW_SLICE_NULL;
    size_t n = 0, i = 0;
    const unsigned char *p = (const unsigned char *)in.ptr;
    for (; i + 2 < in.len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        o[n++] = b64[v >> 18];
        o[n++] = b64[(v >> 12) & 63];
        o[n++] = b64[(v >> 6) & 63];
        o[n++] = b64[v & 63];
    }
    if (in.len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        o[n++] = b64[v >> 18];
        o[n++] = b64[(v >> 12) & 63];
    } else if (in.len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        o[n++] = b64[v >> 18];
        o[n++] = b64[(v >> 12) & 63];
        o[n++] = b64[(v >> 6) & 63];
    }
    o[n] = '\0';
    return (cw_slice){o, n};
}

static cw_slice b64_decode(struct cw_arena *a, cw_slice in)
{
    char *o = cw_arena_alloc_bytes(a, in.len * 3 / 4 + 3);
    if (!o || in.len % 4 == 1) return CW_SLICE_NULL;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.len; i++) {
        const char *f = memchr(b64, in.ptr[i], 64);
        if (!f || !in.ptr[i]) return CW_SLICE_NULL;
        acc = acc << 6 | (uint32_t)(f - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[n++] = (char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (cw_slice){o, n};
}

struct cursor {
    bool isnull[MAX_SORT];
    struct cw_sqlv val[MAX_SORT];
    long long rkey;
};

/* Cursor text: base64url of the JSON array [[null?, value], ..., rkey]. */
static int cursor_parse(struct qb *b, cw_slice text, const struct sortkey *keys, size_t nkeys,
                        struct cursor *c)
{
    cw_slice js = b64_decode(b->a, text);
    struct cw_json *root;
    struct cw_err perr;
    struct cw_json_opts o = {.max_depth = 4, .max_bytes = 65536};
    if (!js.ptr || cw_json_parse(b->a, js.ptr, js.len, &o, &root, &perr) < 0 ||
        !cw_json_is(root, CW_JSON_ARRAY) || root->len != nkeys + 1)
        goto bad;
    for (size_t i = 0; i < nkeys; i++) {
        const struct cw_json *e = cw_json_at(root, i);
        if (!cw_json_is(e, CW_JSON_ARRAY) || e->len != 1) goto bad;
        const struct cw_json *v = cw_json_at(e, 0);
        c->isnull[i] = cw_json_is(v, CW_JSON_NULL);
        if (c->isnull[i]) continue;
        switch (keys[i].kind) {
        case KEY_INT: {
            long long x;
            if (cw_json_to_i64(v, &x) < 0) goto bad;
            c->val[i] = cw_sqlv_int(x);
            break;
        }
        case KEY_REAL: {
            double d;
            if (cw_json_to_double(v, &d) < 0) goto bad;
            c->val[i] = cw_sqlv_real(d);
            break;
        }
        default:
            if (!cw_json_is(v, CW_JSON_STRING)) goto bad;
            c->val[i] = cw_sqlv_text(cw_json_text(v));
            break;
        }
    }
    if (cw_json_to_i64(cw_json_at(root, nkeys), &c->rkey) < 0) goto bad;
    return 0;
bad:
    b->failed = true;
    cw_err_set(b->err, CW_ISSUE_INVALID, "store: bad search cursor");
    return -1;
}

static cw_slice cursor_make(struct cw_arena *a, const struct sortkey *keys, size_t nkeys,
                            const struct cw_sqlv *vals, long long rkey)
{
    struct cw_buf j;
    cw_buf_init(&j, 1 << 20);
    cw_buf_putc(&j, '[');
    for (size_t i = 0; i < nkeys; i++) {
        cw_buf_puts(&j, "[");
        const struct cw_sqlv *v = &vals[i];
        if (v->type == CW_SQLV_NULL) cw_buf_puts(&j, "null");
        else if (keys[i].kind == KEY_INT) cw_buf_printf(&j, "%lld", cw_store_col_int(v));
        else if (keys[i].kind == KEY_REAL) {
            char d[40];
            cw_store_fmt_double(d, sizeof d, cw_store_col_real(v));
            cw_buf_puts(&j, d);
        } else cw_json_escape(&j, v->s);
        cw_buf_puts(&j, "],");
    }
    cw_buf_printf(&j, "%lld]", rkey);
    cw_slice out = cw_buf_failed(&j) ? CW_SLICE_NULL : b64_encode(a, cw_buf_slice(&j));
    cw_buf_release(&j);
    return out;
}

/* Lexicographic "after the cursor" over (null flag asc, value dir) per key, then k asc. */
static void emit_after(struct qb *b, const struct sortkey *keys, size_t nkeys, const struct cursor *c)
{
    /* components */
    struct comp {
        char expr[64];
        bool desc;
        struct cw_sqlv v;
    } comps[2 * MAX_SORT + 1];
    size_t m = 0;
    for (size_t i = 0; i < nkeys; i++) {
        snprintf(comps[m].expr, sizeof comps[m].expr, "(CASE WHEN q.s%zu IS NULL THEN 1 ELSE 0 END)", i);
        comps[m].desc = false;
        comps[m].v = cw_sqlv_int(c->isnull[i] ? 1 : 0);
        m++;
        if (!c->isnull[i]) {
            snprintf(comps[m].expr, sizeof comps[m].expr, "q.s%zu", i);
            comps[m].desc = keys[i].desc;
            comps[m].v = c->val[i];
            m++;
        }
    }
    snprintf(comps[m].expr, sizeof comps[m].expr, "q.k");
    comps[m].desc = false;
    comps[m].v = cw_sqlv_int(c->rkey);
    m++;
    S(b, "(");
    for (size_t j = 0; j < m; j++) {
        if (j) S(b, " OR ");
        S(b, "(");
        for (size_t i = 0; i < j; i++) {
            S(b, comps[i].expr);
            S(b, " = ");
            P(b, comps[i].v);
            S(b, " AND ");
        }
        S(b, comps[j].expr);
        S(b, comps[j].desc ? " < " : " > ");
        P(b, comps[j].v);
        S(b, ")");
    }
    S(b, ")");
}

static void emit_order(struct qb *b, const char *q, const struct sortkey *keys, size_t nkeys)
{
    S(b, " ORDER BY ");
    for (size_t i = 0; i < nkeys; i++)
        cw_buf_printf(&b->sql, "(CASE WHEN %s.s%zu IS NULL THEN 1 ELSE 0 END), %s.s%zu%s, ", q, i, q,
                      i, keys[i].desc ? " DESC" : "");
    cw_buf_printf(&b->sql, "%s.k", q);
}

/* ---- plan checks ---- */

static int check_sp(struct qb *b, const struct cw_store_sp *sp, int depth)
{
    if (depth > CW_STORE_MAX_CHAIN_DEPTH)
        return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: chain under %.*s is too deep", sp->code);
    if (sp->kind != CW_SPK_HAS && (sp->code.len == 0 || sp->code.len > 128 || has_nul(sp->code)))
        return qb_fail(b, CW_ISSUE_INVALID, "store: bad parameter code%.*s", CW_LIT(""));
    if (sp->inner) return check_sp(b, sp->inner, depth + 1);
    return 0;
}

/* Build the page query; nkeys/keys describe the s0.. columns. */
static int build_page(struct qb *b, const struct cw_store_plan *plan, unsigned limit,
                      struct sortkey *keys, size_t *nkeys)
{
    if (!cw_store_valid_type(plan->type))
        return qb_fail(b, CW_ISSUE_INVALID, "store: invalid resource type%.*s", CW_LIT(""));
    if (plan->nparams > MAX_PARAMS_PER_PLAN)
        return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: too many search parameters%.*s", CW_LIT(""));
    if (plan->nsort > MAX_SORT) return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: too many _sort keys%.*s", CW_LIT(""));
    for (size_t i = 0; i < plan->nparams; i++)
        if (check_sp(b, &plan->params[i], 0) < 0) return -1;
    *nkeys = plan->nsort;
    S(b, "SELECT p.k, h.type, h.id, h.version, h.last_updated, r.json");
    for (size_t i = 0; i < plan->nsort; i++) cw_buf_printf(&b->sql, ", p.s%zu", i);
    S(b, " FROM (SELECT q.* FROM (SELECT h0.rkey AS k");
    for (size_t i = 0; i < plan->nsort; i++) {
        S(b, ", ");
        if (emit_sort_expr(b, &plan->sort[i], &keys[i]) < 0) return -1;
        cw_buf_printf(&b->sql, " AS s%zu", i);
    }
    if (emit_where(b, plan) < 0) return -1;
    S(b, ") q");
    if (plan->cursor.len) {
        struct cursor c;
        if (cursor_parse(b, plan->cursor, keys, *nkeys, &c) < 0) return -1;
        S(b, " WHERE ");
        emit_after(b, keys, *nkeys, &c);
    }
    emit_order(b, "q", keys, *nkeys);
    S(b, " LIMIT ");
    PI(b, (long long)limit + 1);
    S(b, " OFFSET ");
    PI(b, plan->cursor.len ? 0 : (long long)plan->offset);
    S(b, ") p JOIN resource_current h ON h.rkey = p.k JOIN resource r ON r.rkey = h.rkey AND "
         "r.version = h.version");
    emit_order(b, "p", keys, *nkeys);
    if (b->np > MAX_SQL_PARAMS) return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: search too large%.*s", CW_LIT(""));
    if (cw_buf_failed(&b->sql)) return qb_fail(b, CW_ISSUE_TOO_COSTLY, "store: search too large%.*s", CW_LIT(""));
    return b->failed ? -1 : 0;
}

int cw_store_explain(struct cw_arena *a, struct cw_store *s, const struct cw_store_plan *plan,
                     cw_slice *sql, size_t *nparams, struct cw_err *err)
{
    if (err) cw_err_clear(err);
    struct qb b;
    qb_init(&b, a, s, err);
    struct sortkey keys[MAX_SORT];
    size_t nkeys;
    unsigned limit = plan->count_set ? plan->count : s->opts.max_page;
    int rc = build_page(&b, plan, limit, keys, &nkeys);
    if (rc == 0) {
        *sql = cw_arena_dup(a, cw_buf_slice(&b.sql));
        *nparams = b.np;
    }
    qb_release(&b);
    return rc;
}

/* ---- running ---- */

struct hits {
    struct cw_arena *a;
    struct cw_store_resource *items;
    bool *included;
    long long *keys;
    struct cw_sqlv *sortv; /* nkeys values per match (for the cursor) */
    size_t nkeys;
    size_t n, cap;
    bool include_mode;
    /* dedupe set of rkeys */
    long long *set;
    size_t setcap;
    bool full;
};

static bool set_add(struct hits *h, long long k)
{
    size_t i = (size_t)(((uint64_t)k * 0x9e3779b97f4a7c15ULL) >> 17) & (h->setcap - 1);
    while (h->set[i]) {
        if (h->set[i] == k) return false;
        i = (i + 1) & (h->setcap - 1);
    }
    h->set[i] = k;
    return true;
}

static int hit_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    struct hits *h = ctx;
    if (n < 6) return 1;
    if (h->n >= h->cap) {
        h->full = true;
        return 1;
    }
    long long k = cw_store_col_int(&c[0]);
    if (!set_add(h, k) && h->include_mode) return 0;
    struct cw_store_resource *r = &h->items[h->n];
    h->keys[h->n] = k;
    h->included[h->n] = h->include_mode;
    r->meta.type = cw_store_col_text(h->a, &c[1]);
    r->meta.id = cw_store_col_text(h->a, &c[2]);
    r->meta.version = cw_store_col_int(&c[3]);
    r->meta.last_updated = cw_store_col_int(&c[4]);
    r->json = cw_store_col_text(h->a, &c[5]);
    if (!h->include_mode)
        for (size_t i = 0; i < h->nkeys; i++) {
            struct cw_sqlv v = (int)(6 + i) < n ? c[6 + i] : cw_sqlv_null();
            if (v.type == CW_SQLV_TEXT) v.s = cw_store_col_text(h->a, &c[6 + i]);
            h->sortv[h->n * h->nkeys + i] = v;
        }
    if (cw_arena_exceeded(h->a)) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    h->n++;
    return 0;
}

static int count_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    if (n > 0) *(long long *)ctx = cw_store_col_int(&c[0]);
    return 1;
}

#define INCLUDE_SELECT                                                                             \
    "SELECT h.rkey, h.type, h.id, h.version, h.last_updated, r.json FROM resource_current h JOIN " \
    "resource r ON r.rkey = h.rkey AND r.version = h.version WHERE h.deleted = 0 AND "

/*
 * Keep the prepared statement of a search on the connection? The text of a
 * search depends only on its shape (parameters, modifiers, number of values,
 * sort keys), never on values, so a server sees the same few texts again and
 * again; preparing one costs as much as running it on a small store. Texts
 * that are long or have many parameters (includes over a page of keys, long
 * OR lists) are one-offs and would only push the common ones out. On
 * PostgreSQL a named statement is planned for its values the first five
 * times and may then keep a generic plan; the plans of these shapes (drive
 * from one index, probe the rest by key) do not depend on the values, and
 * planning cost more than executing (docs/internals/store.md, "Search").
 */
static bool cache_search(const struct cw_store_txn *t, const struct qb *b)
{
    return t->s->ops->cache_search && b->sql.len <= 4096 && b->np <= 48;
}

static int exec_qb(struct cw_store_txn *t, struct qb *b, struct hits *h, struct cw_err *err)
{
    int rc = -1;
    if (!b->failed && !cw_buf_failed(&b->sql))
        rc = cw_store_exec(t, cw_buf_cstr(&b->sql), cache_search(t, b), b->p, (int)b->np, hit_cb, h,
                           NULL, err);
    else if (!b->failed)
        cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: include query too large");
    qb_release(b);
    return rc;
}

/* search.html#include: one _include / _revinclude over items [from, to) of h. */
static int run_include(struct cw_store_txn *t, struct hits *h, const struct cw_store_include *inc,
                       size_t from, size_t to, struct cw_err *err)
{
    bool any_param = cw_slice_eq_cstr(inc->param, "*");
    const size_t chunk = 500;
    if (!inc->rev) {
        /* the targets of the source_type items' references */
        size_t i = from;
        while (i < to && !h->full) {
            struct qb b;
            qb_init(&b, h->a, t->s, err);
            size_t n = 0;
            S(&b, INCLUDE_SELECT "(h.type, h.id) IN (SELECT x.target_type, x.target_id FROM "
                                 "idx_reference x WHERE x.rkey IN (");
            for (; i < to && n < chunk; i++) {
                if (!cw_slice_eq(h->items[i].meta.type, inc->source_type)) continue;
                if (n++) S(&b, ", ");
                PI(&b, h->keys[i]);
            }
            S(&b, ") AND x.rtype = ");
            PT(&b, inc->source_type);
            if (!any_param) {
                S(&b, " AND x.param = ");
                PT(&b, inc->param);
            }
            if (inc->target_type.len) {
                S(&b, " AND x.target_type = ");
                PT(&b, inc->target_type);
            }
            S(&b, ")");
            if (!n) {
                qb_release(&b);
                break;
            }
            if (exec_qb(t, &b, h, err) < 0) return -1;
        }
        return 0;
    }
    /* source_type resources referencing the items: one target type per statement */
    cw_slice *types = cw_arena_alloc(h->a, (to - from + 1) * sizeof *types);
    if (!types) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    size_t ntypes = 0;
    for (size_t i = from; i < to; i++) {
        cw_slice ty = h->items[i].meta.type;
        if (inc->target_type.len && !cw_slice_eq(ty, inc->target_type)) continue;
        size_t k = 0;
        while (k < ntypes && !cw_slice_eq(types[k], ty)) k++;
        if (k == ntypes) types[ntypes++] = ty;
    }
    for (size_t ti = 0; ti < ntypes && !h->full; ti++) {
        size_t i = from;
        while (i < to && !h->full) {
            struct qb b;
            qb_init(&b, h->a, t->s, err);
            S(&b, INCLUDE_SELECT "h.type = ");
            PT(&b, inc->source_type);
            S(&b, " AND h.rkey IN (SELECT x.rkey FROM idx_reference x WHERE x.rtype = ");
            PT(&b, inc->source_type);
            if (!any_param) {
                S(&b, " AND x.param = ");
                PT(&b, inc->param);
            }
            S(&b, " AND x.target_type = ");
            PT(&b, types[ti]);
            S(&b, " AND x.target_id IN (");
            size_t n = 0;
            for (; i < to && n < chunk; i++) {
                if (!cw_slice_eq(h->items[i].meta.type, types[ti])) continue;
                if (n++) S(&b, ", ");
                PT(&b, h->items[i].meta.id);
            }
            S(&b, "))");
            if (!n) {
                qb_release(&b);
                break;
            }
            if (exec_qb(t, &b, h, err) < 0) return -1;
        }
    }
    return 0;
}

int cw_store_search(struct cw_arena *a, struct cw_store_txn *t, const struct cw_store_plan *plan,
                    struct cw_store_page *out, struct cw_err *err)
{
    if (err) cw_err_clear(err);
    memset(out, 0, sizeof *out);
    out->total = -1;
    struct cw_store *s = t->s;
    unsigned limit = plan->count_set ? plan->count : s->opts.max_page;
    if (limit > s->opts.max_page) limit = s->opts.max_page;
    for (size_t i = 0; i < plan->nincludes; i++) {
        const struct cw_store_include *inc = &plan->includes[i];
        if (!cw_store_valid_type(inc->source_type) || inc->param.len == 0 ||
            inc->param.len > 128 || (inc->target_type.len && !cw_store_valid_type(inc->target_type)))
            return cw_err_set(err, CW_ISSUE_INVALID, "store: bad _include/_revinclude");
    }
    if (cw_store_flush(t, err) < 0) return -1;
    struct hits h = {.a = a};
    size_t cap = (size_t)limit + 1 + s->opts.max_include;
    h.items = cw_arena_zalloc(a, cap * sizeof *h.items);
    h.included = cw_arena_zalloc(a, cap * sizeof *h.included);
    h.keys = cw_arena_alloc(a, cap * sizeof *h.keys);
    h.nkeys = plan->nsort;
    h.sortv = cw_arena_zalloc(a, ((size_t)limit + 1) * (h.nkeys ? h.nkeys : 1) * sizeof *h.sortv);
    h.setcap = 16;
    while (h.setcap < cap * 2) h.setcap *= 2;
    h.set = cw_arena_zalloc(a, h.setcap * sizeof *h.set);
    if (!h.items || !h.included || !h.keys || !h.set || !h.sortv)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");

    /* matches */
    struct sortkey keys[MAX_SORT];
    size_t nkeys = 0;
    struct qb b;
    qb_init(&b, a, s, err);
    if (build_page(&b, plan, limit, keys, &nkeys) < 0) {
        qb_release(&b);
        return -1;
    }
    if (limit > 0) {
        h.cap = (size_t)limit + 1;
        if (exec_qb(t, &b, &h, err) < 0) return -1;
    } else {
        qb_release(&b);
    }
    if (h.n > limit) {
        h.n = limit;
        /* the extra row is not on this page: forget it for the includes' dedupe */
        memset(h.set, 0, h.setcap * sizeof *h.set);
        for (size_t i = 0; i < h.n; i++) set_add(&h, h.keys[i]);
        out->next_cursor = cursor_make(a, keys, nkeys, &h.sortv[(limit - 1) * nkeys], h.keys[limit - 1]);
        if (!out->next_cursor.ptr) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    }
    out->nmatch = h.n;

    /* _total (search.html#total): estimate is answered like accurate */
    if (plan->total != CW_TOTAL_NONE) {
        qb_init(&b, a, s, err);
        S(&b, "SELECT COUNT(*)");
        if (emit_where(&b, plan) < 0) {
            qb_release(&b);
            return -1;
        }
        long long total = 0;
        int rc = cw_store_exec(t, cw_buf_cstr(&b.sql), cache_search(t, &b), b.p, (int)b.np, count_cb,
                               &total, NULL, err);
        qb_release(&b);
        if (rc < 0) return -1;
        out->total = total;
    }

    /* includes: round 0 over the matches, then :iterate rounds over what the last round added */
    if (plan->nincludes && h.n) {
        h.cap = h.n + s->opts.max_include;
        h.include_mode = true;
        size_t from = 0, to = h.n;
        for (int round = 0; round <= CW_STORE_MAX_INCLUDE_ITERATIONS && from < to; round++) {
            for (size_t i = 0; i < plan->nincludes && !h.full; i++) {
                const struct cw_store_include *inc = &plan->includes[i];
                if (round > 0 && !inc->iterate) continue;
                if (run_include(t, &h, inc, from, to, err) < 0) return -1;
            }
            bool iterate = false;
            for (size_t i = 0; i < plan->nincludes; i++) iterate |= plan->includes[i].iterate;
            if (!iterate || h.full) break;
            from = to;
            to = h.n;
        }
    }
    out->items = h.items;
    out->included = h.included;
    out->n = h.n;
    return 0;
}
