/*
 * search_parse.c — search parameters (URL query or _search form body) ->
 * the store's search plan.
 *
 * Owns: nothing; the plan and its parts are in the caller's arena and borrow
 * the pairs' bytes.
 *
 * Spec: FHIR R4 search.html — #ptypes (a parameter's type comes from its
 * SearchParameter), #modifiers (:missing everywhere; string :exact
 * :contains; token :text :not :of-type; reference :[type] :identifier; uri
 * :below :above), #prefix (date, number, quantity), #escaping (values are
 * split on unescaped ',' here; '\|' '\$' '\,' stay escaped for the store),
 * #chaining (subject:Patient.name, subject.name; any depth up to
 * CW_STORE_MAX_CHAIN_DEPTH), #has (_has:Type:ref:param, nestable),
 * #composite, #_sort, #count, #total, #include / #revinclude (:iterate and
 * its R3 name :recurse), #summary, #elements, #errors (strict / lenient),
 * compartments (http.html#search, compartmentdefinition.html).
 *
 * Not supported (400 with a message saying so, never silently ignored when
 * they would change the matches): token :in :not-in :above :below
 * (terminology), reference :above :below, _text, _content, _query, _filter,
 * _list, _contained, _containedType, _type on a type search, special
 * parameters (near). Unknown parameter names follow the handling mode.
 */
#include <stdarg.h>
#include <string.h>

#include "base/vec.h"
#include "search/search_int.h"

#define MAX_VALUES 100

typedef CW_VEC(struct cw_store_sp) sp_vec;
typedef CW_VEC(struct cw_store_sort) sort_vec;
typedef CW_VEC(struct cw_store_include) inc_vec;
typedef CW_VEC(struct cw_search_ignored) ign_vec;
typedef CW_VEC(struct cw_search_pair) pair_vec;
typedef CW_VEC(cw_slice) slice_vec;

struct parser {
    struct cw_arena *a;
    const struct cw_search_opts *o;
    struct cw_err *err;
    cw_slice key; /* the pair being parsed (for error locations) */
};

/* ---- query strings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int decode(struct cw_arena *a, cw_slice in, cw_slice *out, struct cw_err *err)
{
    if (!memchr(in.ptr ? in.ptr : "", '%', in.len) && !memchr(in.ptr ? in.ptr : "", '+', in.len)) {
        *out = in;
        return 0;
    }
    char *o = cw_arena_alloc_bytes(a, in.len + 1);
    if (!o) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "search: arena limit");
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '+') {
            o[n++] = ' ';
        } else if (c == '%') {
            int h = i + 2 < in.len ? hexval(in.ptr[i + 1]) : -1;
            int l = i + 2 < in.len ? hexval(in.ptr[i + 2]) : -1;
            if (h < 0 || l < 0) return cw_err_set(err, CW_ISSUE_INVALID, "search: bad percent-encoding in the query");
            char d = (char)(h << 4 | l);
            if (d == '\0') return cw_err_set(err, CW_ISSUE_INVALID, "search: NUL byte in the query");
            o[n++] = d;
            i += 2;
        } else {
            o[n++] = c;
        }
    }
    o[n] = '\0';
    *out = (cw_slice){o, n};
    return 0;
}

int cw_search_split_query(struct cw_arena *a, cw_slice text, size_t max_pairs,
                          struct cw_search_pair **pairs, size_t *n, struct cw_err *err)
{
    *pairs = NULL;
    *n = 0;
    if (!max_pairs) max_pairs = CW_SEARCH_MAX_PAIRS;
    if (text.len > CW_SEARCH_MAX_QUERY)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "search: query longer than %zu bytes",
                          CW_SEARCH_MAX_QUERY);
    if (text.len && memchr(text.ptr, '\0', text.len))
        return cw_err_set(err, CW_ISSUE_INVALID, "search: NUL byte in the query");
    pair_vec v;
    cw_vec_init(&v, a, max_pairs);
    size_t i = 0;
    while (i < text.len) {
        size_t j = i;
        while (j < text.len && text.ptr[j] != '&') j++;
        cw_slice seg = cw_slice_sub(text, i, j - i);
        i = j + 1;
        if (!seg.len) continue;
        long eq = cw_slice_index(seg, '=');
        cw_slice k = eq < 0 ? seg : cw_slice_sub(seg, 0, (size_t)eq);
        cw_slice val = eq < 0 ? CW_LIT("") : cw_slice_sub(seg, (size_t)eq + 1, seg.len - (size_t)eq - 1);
        struct cw_search_pair p;
        if (decode(a, k, &p.key, err) < 0 || decode(a, val, &p.value, err) < 0) return -1;
        if (cw_vec_push(&v, p) < 0)
            return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "search: more than %zu parameters", max_pairs);
    }
    *pairs = v.ptr;
    *n = v.len;
    return 0;
}

int cw_search_encode(struct cw_buf *out, cw_slice s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '/')
            cw_buf_putc(out, (char)c);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            cw_buf_append(out, e, 3);
        }
    }
    return cw_buf_failed(out) ? -1 : 0;
}

/* ---- helpers ---- */

static int fail(struct parser *p, enum cw_issue issue, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parser *p, enum cw_issue issue, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cw_err_vset(p->err, issue, fmt, ap);
    va_end(ap);
    cw_err_at_slice(p->err, cw_slice_sub(p->key, 0, 100));
    return -1;
}

static struct cw_fhir_sd resource_type(cw_slice name)
{
    if (name.len == 0 || name.len > CW_STORE_MAX_TYPE || name.ptr[0] < 'A' || name.ptr[0] > 'Z')
        return CW_FHIR_NONE_SD;
    struct cw_fhir_sd sd = cw_fhir_type(name);
    if (!cw_fhir_sd_ok(sd) || cw_fhir_sd_kind(sd) != CW_FHIR_KIND_RESOURCE || cw_fhir_sd_abstract(sd))
        return CW_FHIR_NONE_SD;
    return sd;
}

/* Index of the first unescaped c in s, or -1 (search.html#escaping). */
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

/* Values of a parameter: split on unescaped ',' (an OR). */
static int split_values(struct parser *p, cw_slice raw, enum cw_store_ptype type,
                        struct cw_store_value **out, size_t *n)
{
    CW_VEC(struct cw_store_value) v;
    cw_vec_init(&v, p->a, MAX_VALUES);
    cw_slice rest = raw;
    for (;;) {
        long c = find_unescaped(rest, ',');
        cw_slice one = c < 0 ? rest : cw_slice_sub(rest, 0, (size_t)c);
        struct cw_store_value val = {.prefix = CW_PFX_EQ, .text = one};
        if (type == CW_SP_DATE || type == CW_SP_NUMBER || type == CW_SP_QUANTITY)
            val.prefix = cw_store_parse_prefix(one, &val.text);
        if (val.text.len == 0)
            return fail(p, CW_ISSUE_INVALID, "search: empty value in a list of values");
        if (cw_vec_push(&v, val) < 0)
            return fail(p, CW_ISSUE_TOO_COSTLY, "search: more than %d values for one parameter",
                        MAX_VALUES);
        if (c < 0) break;
        rest = cw_slice_sub(rest, (size_t)c + 1, rest.len - (size_t)c - 1);
    }
    *out = v.ptr;
    *n = v.len;
    return 0;
}

static bool is_number(cw_slice s)
{
    return cw_json_check_number(s);
}

/* Early checks so a bad value is a 400 naming the parameter. */
static int check_values(struct parser *p, enum cw_store_ptype type, const struct cw_store_value *v,
                        size_t n, enum cw_store_modifier mod)
{
    if (mod == CW_MOD_MISSING) {
        if (n != 1 || !(cw_slice_eq_cstr(v[0].text, "true") || cw_slice_eq_cstr(v[0].text, "false")))
            return fail(p, CW_ISSUE_INVALID, "search: :missing takes true or false");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        cw_slice t = v[i].text;
        int64_t lo, hi;
        switch (type) {
        case CW_SP_DATE:
            if (cw_store_date_range(t, &lo, &hi) < 0)
                return fail(p, CW_ISSUE_INVALID, "search: not a FHIR date/dateTime value");
            break;
        case CW_SP_NUMBER:
            if (!is_number(t)) return fail(p, CW_ISSUE_INVALID, "search: not a number");
            break;
        case CW_SP_QUANTITY: {
            long bar = find_unescaped(t, '|');
            cw_slice num = bar < 0 ? t : cw_slice_sub(t, 0, (size_t)bar);
            if (!is_number(num)) return fail(p, CW_ISSUE_INVALID, "search: not a quantity (number[|system|code])");
            if (bar >= 0 && find_unescaped(cw_slice_sub(t, (size_t)bar + 1, t.len), '|') < 0)
                return fail(p, CW_ISSUE_INVALID, "search: a quantity takes number|system|code");
            break;
        }
        default: break;
        }
    }
    return 0;
}

static enum cw_store_modifier modifier_of(cw_slice m)
{
    static const struct {
        const char *name;
        enum cw_store_modifier mod;
    } mods[] = {
        {"missing", CW_MOD_MISSING}, {"exact", CW_MOD_EXACT},   {"contains", CW_MOD_CONTAINS},
        {"text", CW_MOD_TEXT},       {"not", CW_MOD_NOT},       {"below", CW_MOD_BELOW},
        {"above", CW_MOD_ABOVE},     {"in", CW_MOD_IN},         {"not-in", CW_MOD_NOT_IN},
        {"identifier", CW_MOD_IDENTIFIER},
    };
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (cw_slice_eq_cstr(m, mods[i].name)) return mods[i].mod;
    return CW_MOD_NONE;
}

static cw_slice concat(struct parser *p, cw_slice a, const char *b)
{
    size_t bl = strlen(b);
    char *o = cw_arena_alloc_bytes(p->a, a.len + bl + 1);
    if (!o) return CW_SLICE_NULL;
    memcpy(o, a.ptr, a.len);
    memcpy(o + a.len, b, bl + 1);
    return (cw_slice){o, a.len + bl};
}

/* :of-type values "sys|code|value" -> "sys\|code|value" (the store's token
   row holds system "sys|code" and code "value"). */
static int of_type_values(struct parser *p, struct cw_store_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cw_slice t = v[i].text;
        long b1 = find_unescaped(t, '|');
        long b2 = b1 < 0 ? -1 : find_unescaped(cw_slice_sub(t, (size_t)b1 + 1, t.len), '|');
        if (b1 < 0 || b2 < 0)
            return fail(p, CW_ISSUE_INVALID, "search: :of-type takes system|code|value");
        char *o = cw_arena_alloc_bytes(p->a, t.len + 2);
        if (!o) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        memcpy(o, t.ptr, (size_t)b1);
        o[b1] = '\\';
        memcpy(o + b1 + 1, t.ptr + b1, t.len - (size_t)b1);
        v[i].text = (cw_slice){o, t.len + 1};
    }
    return 0;
}

/* ---- one parameter (recursive for chains and _has) ---- */

static int parse_key(struct parser *p, struct cw_fhir_sd type, cw_slice key, cw_slice value,
                     int depth, struct cw_store_sp *out, bool *unknown);

static int parse_has(struct parser *p, struct cw_fhir_sd type, cw_slice key, cw_slice value,
                     int depth, struct cw_store_sp *out, bool *unknown)
{
    (void)type;
    /* _has:Type:ref:rest */
    cw_slice rest = cw_slice_sub(key, 5, key.len - 5);
    long c1 = cw_slice_index(rest, ':');
    if (c1 <= 0) return fail(p, CW_ISSUE_INVALID, "search: _has takes _has:Type:reference:parameter");
    cw_slice htype = cw_slice_sub(rest, 0, (size_t)c1);
    rest = cw_slice_sub(rest, (size_t)c1 + 1, rest.len);
    long c2 = cw_slice_index(rest, ':');
    if (c2 <= 0) return fail(p, CW_ISSUE_INVALID, "search: _has takes _has:Type:reference:parameter");
    cw_slice href = cw_slice_sub(rest, 0, (size_t)c2);
    rest = cw_slice_sub(rest, (size_t)c2 + 1, rest.len);
    struct cw_fhir_sd hsd = resource_type(htype);
    if (!cw_fhir_sd_ok(hsd)) return fail(p, CW_ISSUE_INVALID, "search: _has names an unknown resource type");
    struct cw_fhir_sp rsp = cw_fhir_sp_find(hsd, href);
    if (!cw_fhir_sp_ok(rsp) || cw_fhir_sp_type(rsp) != CW_FHIR_SP_REFERENCE)
        return fail(p, CW_ISSUE_INVALID, "search: _has names an unknown reference parameter");
    if (!rest.len) return fail(p, CW_ISSUE_INVALID, "search: _has without a parameter");
    struct cw_store_sp *inner = cw_arena_zalloc(p->a, sizeof *inner);
    if (!inner) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
    if (parse_key(p, hsd, rest, value, depth + 1, inner, unknown) < 0) return -1;
    memset(out, 0, sizeof *out);
    out->kind = CW_SPK_HAS;
    out->code = CW_LIT("_has");
    out->has_type = cw_fhir_sd_name(hsd);
    out->has_ref = href;
    out->inner = inner;
    return 0;
}

/* The first name of a chain rest ("name" of "name:exact", "organization" of
   "organization.name"). */
static cw_slice first_name(cw_slice s)
{
    size_t i = 0;
    while (i < s.len && s.ptr[i] != ':' && s.ptr[i] != '.') i++;
    return cw_slice_sub(s, 0, i);
}

static int parse_chain(struct parser *p, struct cw_fhir_sd type, struct cw_fhir_sp sp, cw_slice code,
                       cw_slice mod, cw_slice rest, cw_slice value, int depth,
                       struct cw_store_sp *out, bool *unknown)
{
    (void)type;
    if (cw_fhir_sp_type(sp) != CW_FHIR_SP_REFERENCE)
        return fail(p, CW_ISSUE_INVALID, "search: only reference parameters can be chained");
    struct cw_fhir_sd target = CW_FHIR_NONE_SD;
    cw_slice target_name = CW_LIT("");
    if (mod.len) {
        target = resource_type(mod);
        if (!cw_fhir_sd_ok(target))
            return fail(p, CW_ISSUE_INVALID, "search: a chain's type modifier must be a resource type");
        target_name = cw_fhir_sd_name(target);
    } else {
        /* the targets that define the next parameter */
        cw_slice next = first_name(rest);
        size_t nt = cw_fhir_sp_target_count(sp), found = 0;
        struct cw_fhir_sd first = CW_FHIR_NONE_SD;
        enum cw_fhir_sp_type ftype = 0;
        bool same = true;
        for (size_t i = 0; i < nt; i++) {
            struct cw_fhir_sd t = cw_fhir_sp_target_at(sp, i);
            bool special = cw_slice_eq_cstr(next, "_id") || cw_slice_eq_cstr(next, "_lastUpdated") ||
                           cw_slice_starts_with(next, CW_LIT("_has"));
            struct cw_fhir_sp nsp = special ? (struct cw_fhir_sp){0} : cw_fhir_sp_find(t, next);
            if (!special && !cw_fhir_sp_ok(nsp)) continue;
            if (!found) {
                first = t;
                ftype = special ? 0 : cw_fhir_sp_type(nsp);
            } else if (!special && cw_fhir_sp_type(nsp) != ftype) {
                same = false;
            }
            found++;
        }
        if (!found) {
            *unknown = true;
            return fail(p, CW_ISSUE_INVALID, "search: unknown parameter in chain");
        }
        if (found > 1 && !same)
            return fail(p, CW_ISSUE_INVALID,
                        "search: ambiguous chain: name the target type (param:Type.next)");
        target = first;
        if (found == 1) target_name = cw_fhir_sd_name(first);
    }
    struct cw_store_sp *inner = cw_arena_zalloc(p->a, sizeof *inner);
    if (!inner) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
    if (parse_key(p, target, rest, value, depth + 1, inner, unknown) < 0) return -1;
    memset(out, 0, sizeof *out);
    out->kind = CW_SPK_CHAIN;
    out->code = code;
    out->target_type = target_name;
    out->inner = inner;
    return 0;
}

static int parse_key(struct parser *p, struct cw_fhir_sd type, cw_slice key, cw_slice value,
                     int depth, struct cw_store_sp *out, bool *unknown)
{
    if (depth > CW_STORE_MAX_CHAIN_DEPTH)
        return fail(p, CW_ISSUE_TOO_COSTLY, "search: chain deeper than %d", CW_STORE_MAX_CHAIN_DEPTH);
    if (cw_slice_starts_with(key, CW_LIT("_has:"))) return parse_has(p, type, key, value, depth, out, unknown);
    /* code[:modifier][.rest] */
    size_t i = 0;
    while (i < key.len && key.ptr[i] != ':' && key.ptr[i] != '.') i++;
    cw_slice code = cw_slice_sub(key, 0, i);
    cw_slice mod = CW_LIT("");
    if (i < key.len && key.ptr[i] == ':') {
        size_t j = i + 1;
        while (j < key.len && key.ptr[j] != '.') j++;
        mod = cw_slice_sub(key, i + 1, j - i - 1);
        i = j;
    }
    cw_slice rest = i < key.len ? cw_slice_sub(key, i + 1, key.len - i - 1) : CW_LIT("");
    bool dotted = i < key.len;
    if (code.len == 0) return fail(p, CW_ISSUE_INVALID, "search: empty parameter name");

    memset(out, 0, sizeof *out);
    out->kind = CW_SPK_PARAM;
    out->code = code;
    enum cw_store_ptype ptype;
    struct cw_fhir_sp sp = {0};
    if (cw_slice_eq_cstr(code, "_id")) {
        ptype = CW_SP_TOKEN;
    } else if (cw_slice_eq_cstr(code, "_lastUpdated")) {
        ptype = CW_SP_DATE;
    } else {
        sp = cw_fhir_sp_find(type, code);
        if (!cw_fhir_sp_ok(sp)) {
            *unknown = true;
            return fail(p, CW_ISSUE_INVALID, "search: unknown search parameter '%.*s' for %.*s",
                        (int)(code.len > 64 ? 64 : code.len), code.ptr,
                        CW_SLICE_FMT(cw_fhir_sd_name(type)));
        }
        ptype = cw_search_ptype(cw_fhir_sp_type(sp));
        if (ptype == CW_SP_NONE || cw_fhir_sp_expression(sp).len == 0)
            return fail(p, CW_ISSUE_NOT_SUPPORTED, "search: parameter '%.*s' is not supported",
                        (int)(code.len > 64 ? 64 : code.len), code.ptr);
    }
    if (dotted) {
        if (!cw_fhir_sp_ok(sp)) return fail(p, CW_ISSUE_INVALID, "search: only reference parameters can be chained");
        return parse_chain(p, type, sp, code, mod, rest, value, depth, out, unknown);
    }
    out->type = ptype;
    enum cw_store_modifier m = CW_MOD_NONE;
    if (mod.len) {
        if (cw_slice_eq_cstr(mod, "of-type")) {
            if (ptype != CW_SP_TOKEN || cw_slice_eq_cstr(code, "_id"))
                return fail(p, CW_ISSUE_INVALID, "search: :of-type is for identifier token parameters");
            if (!(out->code = concat(p, code, ":of-type")).ptr) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        } else if (ptype == CW_SP_REFERENCE && resource_type(mod).set) {
            m = CW_MOD_TYPE;
            out->target_type = cw_fhir_sd_name(resource_type(mod));
        } else {
            m = modifier_of(mod);
            bool ok = false;
            switch (m) {
            case CW_MOD_MISSING: ok = true; break;
            case CW_MOD_EXACT:
            case CW_MOD_CONTAINS: ok = ptype == CW_SP_STRING; break;
            case CW_MOD_TEXT: ok = ptype == CW_SP_TOKEN && !cw_slice_eq_cstr(code, "_id"); break;
            case CW_MOD_NOT: ok = ptype == CW_SP_TOKEN; break;
            case CW_MOD_BELOW:
            case CW_MOD_ABOVE: ok = ptype == CW_SP_URI; break;
            case CW_MOD_IDENTIFIER: ok = ptype == CW_SP_REFERENCE; break;
            default: break;
            }
            if (!ok) {
                if (m == CW_MOD_IN || m == CW_MOD_NOT_IN ||
                    (ptype == CW_SP_TOKEN && (m == CW_MOD_ABOVE || m == CW_MOD_BELOW)))
                    return fail(p, CW_ISSUE_NOT_SUPPORTED,
                                "search: modifier :%.*s needs terminology services, which this "
                                "server does not offer",
                                (int)(mod.len > 32 ? 32 : mod.len), mod.ptr);
                return fail(p, CW_ISSUE_INVALID, "search: modifier :%.*s is not valid for this %s parameter",
                            (int)(mod.len > 32 ? 32 : mod.len), mod.ptr,
                            cw_fhir_sp_type_code(cw_fhir_sp_type(sp)));
            }
            if (m == CW_MOD_IDENTIFIER) {
                /* Reference.identifier is indexed as "<code>:identifier" token rows. */
                if (!(out->code = concat(p, code, ":identifier")).ptr) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
                out->type = ptype = CW_SP_TOKEN;
                m = CW_MOD_NONE;
            }
        }
    }
    out->modifier = m;
    struct cw_store_value *vals = NULL;
    size_t nv = 0;
    if (m == CW_MOD_MISSING) {
        vals = cw_arena_alloc(p->a, sizeof *vals);
        if (!vals) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        vals[0] = (struct cw_store_value){.prefix = CW_PFX_EQ, .text = value};
        nv = 1;
    } else if (split_values(p, value, ptype == CW_SP_COMPOSITE ? CW_SP_NONE : ptype, &vals, &nv) < 0) {
        return -1;
    }
    if (check_values(p, ptype, vals, nv, m) < 0) return -1;
    if (cw_slice_eq_cstr(mod, "of-type") && of_type_values(p, vals, nv) < 0) return -1;
    out->values = vals;
    out->nvalues = nv;
    if (ptype == CW_SP_COMPOSITE) {
        size_t nc = cw_fhir_sp_component_count(sp);
        if (nc < 2 || nc > 4) return fail(p, CW_ISSUE_NOT_SUPPORTED, "search: composite parameter with an unsupported shape");
        enum cw_store_ptype *ct = cw_arena_alloc(p->a, nc * sizeof *ct);
        if (!ct) return fail(p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        for (size_t k = 0; k < nc; k++) {
            cw_slice def;
            cw_fhir_sp_component(sp, k, &def, NULL);
            ct[k] = cw_search_ptype(cw_fhir_sp_type(cw_fhir_sp_by_url(def)));
            if (ct[k] == CW_SP_NONE || ct[k] == CW_SP_COMPOSITE)
                return fail(p, CW_ISSUE_NOT_SUPPORTED, "search: composite parameter with an unsupported component");
        }
        for (size_t k = 0; k < nv && m != CW_MOD_MISSING; k++) {
            /* count '$' components early so the error is a 400 here */
            size_t parts = 1;
            cw_slice t = vals[k].text;
            long d;
            while ((d = find_unescaped(t, '$')) >= 0) {
                parts++;
                t = cw_slice_sub(t, (size_t)d + 1, t.len);
            }
            if (parts != nc) return fail(p, CW_ISSUE_INVALID, "search: composite value needs %zu '$'-separated parts", nc);
        }
        out->comp_types = ct;
        out->ncomp = nc;
    }
    return 0;
}

/* ---- result parameters ---- */

static int parse_sort(struct parser *p, struct cw_fhir_sd type, cw_slice value, sort_vec *sorts)
{
    cw_slice rest = value;
    while (rest.len) {
        long c = cw_slice_index(rest, ',');
        cw_slice one = cw_slice_trim(c < 0 ? rest : cw_slice_sub(rest, 0, (size_t)c));
        rest = c < 0 ? CW_LIT("") : cw_slice_sub(rest, (size_t)c + 1, rest.len);
        if (!one.len) continue;
        struct cw_store_sort so = {0};
        if (one.ptr[0] == '-') {
            so.desc = true;
            one = cw_slice_sub(one, 1, one.len - 1);
        }
        so.code = one;
        if (cw_slice_eq_cstr(one, "_id")) so.type = CW_SP_TOKEN;
        else if (cw_slice_eq_cstr(one, "_lastUpdated")) so.type = CW_SP_DATE;
        else {
            struct cw_fhir_sp sp = cw_fhir_sp_find(type, one);
            so.type = cw_fhir_sp_ok(sp) ? cw_search_ptype(cw_fhir_sp_type(sp)) : CW_SP_NONE;
            if (so.type == CW_SP_NONE || so.type == CW_SP_COMPOSITE || !cw_fhir_sp_expression(sp).len)
                return fail(p, CW_ISSUE_INVALID, "search: _sort names a parameter that cannot be sorted on");
        }
        if (cw_vec_push(sorts, so) < 0) return fail(p, CW_ISSUE_TOO_COSTLY, "search: too many _sort keys");
    }
    return 0;
}

static int parse_include(struct parser *p, struct cw_fhir_sd type, bool rev, cw_slice mod,
                         cw_slice value, inc_vec *incs)
{
    struct cw_store_include inc = {.rev = rev};
    if (mod.len) {
        if (cw_slice_eq_cstr(mod, "iterate") || cw_slice_eq_cstr(mod, "recurse")) inc.iterate = true;
        else return fail(p, CW_ISSUE_INVALID, "search: _include/_revinclude take :iterate only");
    }
    if (cw_slice_eq_cstr(value, "*")) {
        inc.source_type = cw_fhir_sd_name(type);
        inc.param = CW_LIT("*");
    } else {
        long c1 = cw_slice_index(value, ':');
        if (c1 <= 0) return fail(p, CW_ISSUE_INVALID, "search: _include takes Type:parameter[:targetType]");
        cw_slice st = cw_slice_sub(value, 0, (size_t)c1);
        cw_slice rest = cw_slice_sub(value, (size_t)c1 + 1, value.len);
        long c2 = cw_slice_index(rest, ':');
        cw_slice param = c2 < 0 ? rest : cw_slice_sub(rest, 0, (size_t)c2);
        cw_slice tt = c2 < 0 ? CW_LIT("") : cw_slice_sub(rest, (size_t)c2 + 1, rest.len);
        struct cw_fhir_sd ssd = resource_type(st);
        if (!cw_fhir_sd_ok(ssd)) return fail(p, CW_ISSUE_INVALID, "search: _include names an unknown resource type");
        inc.source_type = cw_fhir_sd_name(ssd);
        if (cw_slice_eq_cstr(param, "*")) {
            inc.param = CW_LIT("*");
        } else {
            struct cw_fhir_sp sp = cw_fhir_sp_find(ssd, param);
            if (!cw_fhir_sp_ok(sp) || cw_fhir_sp_type(sp) != CW_FHIR_SP_REFERENCE)
                return fail(p, CW_ISSUE_INVALID, "search: _include names an unknown reference parameter");
            inc.param = cw_fhir_sp_code(sp);
        }
        if (tt.len) {
            struct cw_fhir_sd tsd = resource_type(tt);
            if (!cw_fhir_sd_ok(tsd)) return fail(p, CW_ISSUE_INVALID, "search: _include names an unknown target type");
            inc.target_type = cw_fhir_sd_name(tsd);
        }
    }
    if (cw_vec_push(incs, inc) < 0) return fail(p, CW_ISSUE_TOO_COSTLY, "search: too many _include/_revinclude");
    return 0;
}

static int parse_uint(cw_slice v, unsigned *out)
{
    unsigned long long n;
    if (cw_slice_to_u64(v, &n) < 0 || (v.len && (v.ptr[0] == '+' || v.ptr[0] == '-'))) return -1;
    *out = n > 1000000000ull ? 1000000000u : (unsigned)n;
    return 0;
}

/* Parameters that mean nothing to a search but to the HTTP layer. */
static bool is_unsupported_control(cw_slice name)
{
    static const char *const names[] = {"_text",  "_content",   "_query",         "_filter",
                                        "_list",  "_contained", "_containedType", "_type",
                                        NULL};
    for (size_t i = 0; names[i]; i++)
        if (cw_slice_eq_cstr(name, names[i])) return true;
    return false;
}

int cw_search_parse(struct cw_arena *a, cw_slice type, const struct cw_search_pair *pairs,
                    size_t n, const struct cw_search_compartment *compartment,
                    const struct cw_search_opts *opts, struct cw_search *out, struct cw_err *err)
{
    static const struct cw_search_opts defaults = {0};
    if (!opts) opts = &defaults;
    memset(out, 0, sizeof *out);
    out->pretty = -1;
    struct parser p = {.a = a, .o = opts, .err = err};
    struct cw_fhir_sd sd = resource_type(type);
    if (!cw_fhir_sd_ok(sd)) return cw_err_set(err, CW_ISSUE_NOT_FOUND, "search: unknown resource type");
    unsigned max_count = opts->max_count ? opts->max_count : CW_STORE_DEFAULT_MAX_PAGE;
    unsigned count = opts->default_count ? opts->default_count : 20;
    if (count > max_count) count = max_count;

    sp_vec params;
    sort_vec sorts;
    inc_vec incs;
    ign_vec ign;
    pair_vec used;
    slice_vec elems;
    cw_vec_init(&params, a, 64);
    cw_vec_init(&sorts, a, 8);
    cw_vec_init(&incs, a, 32);
    cw_vec_init(&ign, a, CW_SEARCH_MAX_PAIRS);
    cw_vec_init(&used, a, CW_SEARCH_MAX_PAIRS);
    cw_vec_init(&elems, a, 256);
    bool have_total = false, have_sort = false, have_count = false;
    out->plan.type = cw_fhir_sd_name(sd);

    if (compartment && compartment->type.len) {
        p.key = compartment->type;
        cw_slice params_c[1];
        if (!cw_fhir_compartment_params(compartment->type, sd, params_c, 1))
            return fail(&p, CW_ISSUE_INVALID, "search: %.*s resources are not in that compartment",
                        CW_SLICE_FMT(out->plan.type));
        struct cw_store_value *v = cw_arena_alloc(a, sizeof *v);
        struct cw_store_sp *csp = cw_vec_add(&params);
        if (!v || !csp) return fail(&p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        size_t tl = compartment->type.len, il = compartment->id.len;
        char *ref = cw_arena_alloc_bytes(a, tl + il + 2);
        if (!ref) return fail(&p, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        memcpy(ref, compartment->type.ptr, tl);
        ref[tl] = '/';
        memcpy(ref + tl + 1, compartment->id.ptr, il);
        ref[tl + 1 + il] = '\0';
        *v = (struct cw_store_value){.prefix = CW_PFX_EQ, .text = {ref, tl + 1 + il}};
        csp->kind = CW_SPK_PARAM;
        csp->code = CW_LIT("_compartment");
        csp->type = CW_SP_REFERENCE;
        csp->values = v;
        csp->nvalues = 1;
    }

    for (size_t i = 0; i < n; i++) {
        cw_slice key = pairs[i].key, value = pairs[i].value;
        p.key = key;
        long colon = cw_slice_index(key, ':');
        cw_slice name = colon < 0 ? key : cw_slice_sub(key, 0, (size_t)colon);
        cw_slice mod = colon < 0 ? CW_LIT("") : cw_slice_sub(key, (size_t)colon + 1, key.len);
        bool keep = true;
        if (cw_slice_eq_cstr(key, "_count")) {
            if (have_count || parse_uint(value, &count) < 0)
                return fail(&p, CW_ISSUE_INVALID, "search: _count takes one non-negative integer");
            if (count > max_count) count = max_count;
            have_count = true;
        } else if (cw_slice_eq_cstr(key, "_sort")) {
            if (have_sort) return fail(&p, CW_ISSUE_INVALID, "search: _sort given twice");
            have_sort = true;
            if (parse_sort(&p, sd, value, &sorts) < 0) return -1;
        } else if (cw_slice_eq_cstr(name, "_include") || cw_slice_eq_cstr(name, "_revinclude")) {
            if (parse_include(&p, sd, name.len == 11, mod, value, &incs) < 0) return -1;
        } else if (cw_slice_eq_cstr(key, "_total")) {
            if (have_total) return fail(&p, CW_ISSUE_INVALID, "search: _total given twice");
            have_total = true;
            if (cw_slice_eq_cstr(value, "none")) out->plan.total = CW_TOTAL_NONE;
            else if (cw_slice_eq_cstr(value, "estimate")) out->plan.total = CW_TOTAL_ESTIMATE;
            else if (cw_slice_eq_cstr(value, "accurate")) out->plan.total = CW_TOTAL_ACCURATE;
            else return fail(&p, CW_ISSUE_INVALID, "search: _total takes none, estimate or accurate");
        } else if (cw_slice_eq_cstr(key, "_summary")) {
            static const char *const sums[] = {"true", "text", "data", "count", "false"};
            out->summary = CW_SUMMARY_NONE;
            for (size_t k = 0; k < 5; k++)
                if (cw_slice_eq_cstr(value, sums[k])) out->summary = (enum cw_search_summary)(k + 1);
            if (out->summary == CW_SUMMARY_NONE)
                return fail(&p, CW_ISSUE_INVALID, "search: _summary takes true, text, data, count or false");
        } else if (cw_slice_eq_cstr(key, "_elements")) {
            cw_slice rest = value;
            while (rest.len) {
                long c = cw_slice_index(rest, ',');
                cw_slice one = cw_slice_trim(c < 0 ? rest : cw_slice_sub(rest, 0, (size_t)c));
                rest = c < 0 ? CW_LIT("") : cw_slice_sub(rest, (size_t)c + 1, rest.len);
                if (one.len && cw_vec_push(&elems, one) < 0)
                    return fail(&p, CW_ISSUE_TOO_COSTLY, "search: too many _elements");
            }
        } else if (cw_slice_eq_cstr(key, "_format")) {
            out->format = value;
        } else if (cw_slice_eq_cstr(key, "_pretty")) {
            if (cw_slice_eq_cstr(value, "true")) out->pretty = 1;
            else if (cw_slice_eq_cstr(value, "false")) out->pretty = 0;
            else return fail(&p, CW_ISSUE_INVALID, "search: _pretty takes true or false");
        } else if (cw_slice_eq_cstr(key, "_cursor")) {
            out->cursor = value;
            keep = false;
        } else if (is_unsupported_control(name)) {
            if (opts->handling == CW_SEARCH_STRICT)
                return fail(&p, CW_ISSUE_NOT_SUPPORTED, "search: parameter %.*s is not supported",
                            CW_SLICE_FMT(name));
            struct cw_search_ignored ig = {key, "not supported by this server"};
            if (cw_vec_push(&ign, ig) < 0) return fail(&p, CW_ISSUE_TOO_COSTLY, "search: too many parameters");
            keep = false;
        } else if (value.len == 0) {
            /* search.html: a parameter without a value is ignored */
            keep = false;
        } else {
            struct cw_store_sp sp;
            bool unknown = false;
            if (parse_key(&p, sd, key, value, 0, &sp, &unknown) < 0) {
                if (!unknown || opts->handling == CW_SEARCH_STRICT) return -1;
                cw_err_clear(err);
                struct cw_search_ignored ig = {key, "unknown search parameter"};
                if (cw_vec_push(&ign, ig) < 0) return fail(&p, CW_ISSUE_TOO_COSTLY, "search: too many parameters");
                keep = false;
            } else if (cw_vec_push(&params, sp) < 0) {
                return fail(&p, CW_ISSUE_TOO_COSTLY, "search: too many search parameters");
            }
        }
        if (keep && cw_vec_push(&used, pairs[i]) < 0)
            return fail(&p, CW_ISSUE_TOO_COSTLY, "search: too many parameters");
    }
    out->plan.params = params.ptr;
    out->plan.nparams = params.len;
    out->plan.sort = sorts.ptr;
    out->plan.nsort = sorts.len;
    out->plan.includes = incs.ptr;
    out->plan.nincludes = incs.len;
    out->plan.count = count;
    out->plan.count_set = true;
    if (out->summary == CW_SUMMARY_COUNT) {
        out->plan.count = 0;
        out->plan.total = CW_TOTAL_ACCURATE;
    }
    out->elements = elems.ptr;
    out->n_elements = elems.len;
    out->ignored = ign.ptr;
    out->n_ignored = ign.len;
    out->used = used.ptr;
    out->n_used = used.len;
    return 0;
}
