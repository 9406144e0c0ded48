/*
 * search_value.c — one value of a SearchParameter -> the store's index rows.
 *
 * Owns: nothing; rows and copies live in the caller's arena.
 *
 * What each parameter type indexes (FHIR R4 search.html#ptypes, and the
 * "Search Parameter type / Datatype" table):
 *   string     string/markdown/code/id/uri primitives as they are;
 *              HumanName: family, given, prefix, suffix, text (one row each);
 *              Address: line, city, district, state, postalCode, country, text.
 *   token      code/string/id/uri/boolean primitives: code = the value;
 *              Coding: system, code, text = display;
 *              CodeableConcept: one row per coding (text = display) plus a
 *              text-only row for CodeableConcept.text (for :text) unless a
 *              coding's display is the same text;
 *              Identifier: system, code = value, text = type.text, and an
 *              "<code>:of-type" row (system "<type system>|<type code>",
 *              code = value) per type coding;
 *              ContactPoint: system = ContactPoint.system, code = value.
 *   date       date/dateTime/instant: their precision as a range; Period:
 *              [start, end) with open ends; Timing: from the first event to
 *              the end of the last, or repeat.boundsPeriod.
 *   number     integer/decimal/positiveInt/unsignedInt.
 *   quantity   Quantity (and Age, Count, Distance, Duration, SimpleQuantity,
 *              MoneyQuantity): value, system, code (or unit when there is no
 *              code), and for UCUM units the engine knows the canonical
 *              value and dimension key (cw_fhirpath_ucum_canonical); Money: value with system urn:iso:std:iso:4217 and the
 *              currency; Range: its low and high as two rows (an
 *              approximation: a search value inside the range does not match
 *              unless it equals a bound).
 *   reference  Reference.reference (see search_ref_parse), and
 *              Reference.identifier as "<code>:identifier" token rows;
 *              canonical/uri/url: url (also without a "|version" suffix);
 *              a resource (Bundle.entry.resource): its type and id.
 *   uri        uri/url/canonical/oid/uuid/string.
 * Anything else (a value of a type the parameter type does not take) gives
 * no row.
 *
 * Invariants: every text slice in a row is at most CW_SEARCH_MAX_TEXT bytes
 * (PostgreSQL b-tree entries are limited to ~2.7 kB) and contains no NUL
 * byte (the store refuses those: such values are skipped).
 */
#include <math.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "search/search_int.h"

#define UCUM_SYSTEM "http://unitsofmeasure.org"

/* canon_value / canon_code of a quantity row: for a UCUM unit the engine
   knows, the value in base units and "ucum:<dimensions>" (so 5 g and
   5000 mg index alike); otherwise the value and code as given. */
/*
 * A per-thread memo of unit code -> canonical form: a store holds a few dozen
 * distinct units (mg/dL, kg, /min, ...) and parsing the unit again for every
 * quantity row was 3 % of a transaction's time (docs/performance.md, "FHIR
 * REST server"). Direct-mapped by a hash of the code; codes longer than
 * UCUM_MEMO_CODE are not memoized. ok = 0 remembers an unknown unit.
 */
#define UCUM_MEMO 64
#define UCUM_MEMO_CODE 32
struct ucum_memo {
    unsigned char len; /* 0: empty slot */
    char code[UCUM_MEMO_CODE];
    bool ok;
    double factor;
    char key[96];
};
static _Thread_local struct ucum_memo g_ucum_memo[UCUM_MEMO];

static int ucum_canonical(cw_slice code, double *f, const char **key)
{
    if (code.len == 0 || code.len > UCUM_MEMO_CODE) return -1;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < code.len; i++) h = (h ^ (unsigned char)code.ptr[i]) * 16777619u;
    struct ucum_memo *m = &g_ucum_memo[h & (UCUM_MEMO - 1)];
    if (m->len != code.len || memcmp(m->code, code.ptr, code.len) != 0) {
        m->ok = cw_fhirpath_ucum_canonical(code, &m->factor, m->key, sizeof m->key) == 0;
        memcpy(m->code, code.ptr, code.len);
        m->len = (unsigned char)code.len;
    }
    if (!m->ok) return -1;
    *f = m->factor;
    *key = m->key;
    return 0;
}

static void canonical(struct search_rows *r, struct cw_store_index_row *row)
{
    row->v.quantity.canon_value = row->v.quantity.value;
    row->v.quantity.canon_code = row->v.quantity.code;
    if (!cw_slice_eq_cstr(row->v.quantity.system, UCUM_SYSTEM) || !row->v.quantity.code.len) return;
    double f;
    const char *key;
    if (row->v.quantity.code.len > UCUM_MEMO_CODE) {
        static _Thread_local char big[96];
        if (cw_fhirpath_ucum_canonical(row->v.quantity.code, &f, big, sizeof big) < 0) return;
        key = big;
    } else if (ucum_canonical(row->v.quantity.code, &f, &key) < 0) {
        return;
    }
    cw_slice k = cw_arena_dup(r->a, cw_slice_cstr(key));
    if (!k.ptr) return;
    row->v.quantity.canon_value = row->v.quantity.value * f;
    row->v.quantity.canon_code = k;
}

void search_rows_init(struct search_rows *r, struct cw_arena *a, const struct cw_json *resource,
                      const struct cw_search_index_opts *opts, struct cw_err *err)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    r->resource = resource;
    r->max = opts && opts->max_rows ? opts->max_rows : CW_SEARCH_DEFAULT_MAX_ROWS;
    if (opts) {
        r->local_bases = opts->local_bases;
        r->n_local_bases = opts->n_local_bases;
    }
    r->err = err;
}

struct cw_store_index_row *search_rows_push(struct search_rows *r, cw_slice param,
                                            enum cw_store_ptype type)
{
    if (r->n >= r->max) {
        cw_err_set(r->err, CW_ISSUE_TOO_COSTLY, "search: more than %zu index rows", r->max);
        return NULL;
    }
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        if (ncap > r->max) ncap = r->max;
        struct cw_store_index_row *nv = cw_arena_array(r->a, ncap, sizeof *nv);
        if (!nv) {
            cw_err_set(r->err, CW_ISSUE_TOO_COSTLY, "search: arena limit");
            return NULL;
        }
        if (r->n) memcpy(nv, r->v, r->n * sizeof *nv);
        r->v = nv;
        r->cap = ncap;
    }
    struct cw_store_index_row *row = &r->v[r->n++];
    memset(row, 0, sizeof *row);
    row->param = param;
    row->type = type;
    return row;
}

cw_slice search_cut(cw_slice s)
{
    if (s.len <= CW_SEARCH_MAX_TEXT) return s;
    size_t n = CW_SEARCH_MAX_TEXT;
    while (n > 0 && ((unsigned char)s.ptr[n] & 0xc0) == 0x80) n--;
    return (cw_slice){s.ptr, n};
}

static bool has_nul(cw_slice s)
{
    return s.len && memchr(s.ptr, '\0', s.len) != NULL;
}

static cw_slice jstr(const struct cw_json *obj, const char *key)
{
    const struct cw_json *v = cw_json_get(obj, key);
    return cw_json_is(v, CW_JSON_STRING) ? cw_json_text(v) : CW_SLICE_NULL;
}

/* The text of a primitive JSON value (string, number, boolean). */
static cw_slice prim_text(const struct cw_json *v)
{
    if (!v) return CW_SLICE_NULL;
    switch (v->type) {
    case CW_JSON_STRING:
    case CW_JSON_NUMBER: return cw_json_text(v);
    case CW_JSON_TRUE: return CW_LIT("true");
    case CW_JSON_FALSE: return CW_LIT("false");
    default: return CW_SLICE_NULL;
    }
}

static bool type_is(const struct search_value *v, const char *name)
{
    return v->kind == SV_NODE && cw_slice_eq_cstr(cw_fhir_sd_type_name(v->type), name);
}

static bool is_primitive(const struct search_value *v)
{
    return v->kind != SV_NODE || cw_fhir_sd_kind(v->type) == CW_FHIR_KIND_PRIMITIVE;
}

/* The text of a primitive value (node or System value). */
static cw_slice value_text(const struct search_value *v)
{
    if (v->kind != SV_NODE) return v->text;
    if (cw_fhir_sd_kind(v->type) != CW_FHIR_KIND_PRIMITIVE) return CW_SLICE_NULL;
    return prim_text(v->json);
}

/* ---- string ---- */

static int add_string(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                      cw_slice text)
{
    text = search_cut(text);
    if (text.len == 0 || has_nul(text)) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_STRING);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.string.exact = text;
    return 1;
}

static int add_string_member(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                             const struct cw_json *obj, const char *key)
{
    const struct cw_json *v = cw_json_get(obj, key);
    if (!v) return 0;
    int n = 0;
    if (cw_json_is(v, CW_JSON_ARRAY)) {
        for (uint32_t i = 0; i < v->len; i++) {
            int k = add_string(r, code, comp, group, cw_json_text(&v->u.items[i]));
            if (k < 0) return -1;
            n += k;
        }
        return n;
    }
    return add_string(r, code, comp, group, cw_json_text(v));
}

static int rows_string(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                       const struct search_value *v)
{
    if (is_primitive(v)) {
        if (v->kind == SV_BOOLEAN || v->kind == SV_QUANTITY) return 0;
        return add_string(r, code, comp, group, value_text(v));
    }
    static const char *const human_name[] = {"family", "given", "prefix", "suffix", "text", NULL};
    static const char *const address[] = {"line",       "city",    "district", "state",
                                          "postalCode", "country", "text",     NULL};
    const char *const *keys = NULL;
    if (type_is(v, "HumanName")) keys = human_name;
    else if (type_is(v, "Address")) keys = address;
    if (!keys) return 0;
    int n = 0;
    for (size_t i = 0; keys[i]; i++) {
        int k = add_string_member(r, code, comp, group, v->json, keys[i]);
        if (k < 0) return -1;
        n += k;
    }
    return n;
}

/* ---- token ---- */

static int add_token(struct search_rows *r, cw_slice code_param, uint16_t comp, uint32_t group,
                     cw_slice system, cw_slice code, cw_slice text)
{
    system = search_cut(system);
    code = search_cut(code);
    text = search_cut(text);
    if (system.len == 0 && code.len == 0 && text.len == 0) return 0;
    if (has_nul(system) || has_nul(code) || has_nul(text)) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code_param, CW_SP_TOKEN);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.token.system = system.ptr ? system : CW_LIT("");
    row->v.token.code = code.ptr ? code : CW_LIT("");
    row->v.token.text = text.ptr ? text : CW_LIT("");
    return 1;
}

/* "<code><suffix>" in the arena (synthetic parameter names). */
static cw_slice suffixed(struct search_rows *r, cw_slice code, const char *suffix)
{
    size_t sl = strlen(suffix);
    char *p = cw_arena_alloc_bytes(r->a, code.len + sl + 1);
    if (!p) {
        cw_err_set(r->err, CW_ISSUE_TOO_COSTLY, "search: arena limit");
        return CW_SLICE_NULL;
    }
    memcpy(p, code.ptr, code.len);
    memcpy(p + code.len, suffix, sl + 1);
    return (cw_slice){p, code.len + sl};
}

static int token_coding(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                        const struct cw_json *coding, cw_slice fallback_text)
{
    cw_slice display = jstr(coding, "display");
    return add_token(r, code, comp, group, jstr(coding, "system"), jstr(coding, "code"),
                     display.len ? display : fallback_text);
}

static int token_identifier(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                            const struct cw_json *id)
{
    const struct cw_json *type = cw_json_get(id, "type");
    cw_slice value = jstr(id, "value");
    int n = add_token(r, code, comp, group, jstr(id, "system"), value, jstr(type, "text"));
    if (n < 0) return -1;
    /* :of-type (search.html#token): Identifier.type coding + value. */
    const struct cw_json *codings = cw_json_get(type, "coding");
    if (value.len && cw_json_is(codings, CW_JSON_ARRAY) && comp == 0 && group == 0) {
        cw_slice of_type = CW_SLICE_NULL;
        for (uint32_t i = 0; i < codings->len; i++) {
            const struct cw_json *c = &codings->u.items[i];
            cw_slice ts = jstr(c, "system"), tc = jstr(c, "code");
            if (!tc.len) continue;
            if (!of_type.ptr && !(of_type = suffixed(r, code, ":of-type")).ptr) return -1;
            char *sys = cw_arena_alloc_bytes(r->a, ts.len + tc.len + 2);
            if (!sys) return cw_err_set(r->err, CW_ISSUE_TOO_COSTLY, "search: arena limit");
            if (ts.len) memcpy(sys, ts.ptr, ts.len);
            sys[ts.len] = '|';
            memcpy(sys + ts.len + 1, tc.ptr, tc.len);
            sys[ts.len + 1 + tc.len] = '\0';
            int k = add_token(r, of_type, 0, 0, (cw_slice){sys, ts.len + 1 + tc.len}, value,
                              CW_SLICE_NULL);
            if (k < 0) return -1;
            n += k;
        }
    }
    return n;
}

static int rows_token(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                      const struct search_value *v)
{
    if (is_primitive(v)) {
        if (v->kind == SV_QUANTITY) return 0;
        return add_token(r, code, comp, group, CW_SLICE_NULL, value_text(v), CW_SLICE_NULL);
    }
    if (type_is(v, "Coding")) return token_coding(r, code, comp, group, v->json, CW_SLICE_NULL);
    if (type_is(v, "CodeableConcept")) {
        const struct cw_json *codings = cw_json_get(v->json, "coding");
        cw_slice text = jstr(v->json, "text");
        int n = 0;
        for (uint32_t i = 0; cw_json_is(codings, CW_JSON_ARRAY) && i < codings->len; i++) {
            int k = token_coding(r, code, comp, group, &codings->u.items[i], CW_SLICE_NULL);
            if (k < 0) return -1;
            n += k;
        }
        /* CodeableConcept.text for :text, unless a coding's display already says it */
        bool said = false;
        for (uint32_t i = 0; text.len && cw_json_is(codings, CW_JSON_ARRAY) && i < codings->len && !said; i++)
            said = cw_slice_eq(jstr(&codings->u.items[i], "display"), text);
        if (text.len && !said) {
            int k = add_token(r, code, comp, group, CW_SLICE_NULL, CW_SLICE_NULL, text);
            if (k < 0) return -1;
            n += k;
        }
        return n;
    }
    if (type_is(v, "Identifier")) return token_identifier(r, code, comp, group, v->json);
    if (type_is(v, "ContactPoint"))
        return add_token(r, code, comp, group, jstr(v->json, "system"), jstr(v->json, "value"),
                         CW_SLICE_NULL);
    return 0;
}

/* ---- date ---- */

static int add_date(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                    int64_t lo, int64_t hi)
{
    if (lo >= hi) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_DATE);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.date.lo = lo;
    row->v.date.hi = hi;
    return 1;
}

static int rows_date(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                     const struct search_value *v)
{
    int64_t lo, hi;
    if (is_primitive(v)) {
        if (v->kind == SV_TIME || type_is(v, "time")) return 0;
        cw_slice t = value_text(v);
        if (t.len && t.ptr[0] == '@') t = cw_slice_sub(t, 1, t.len - 1);
        if (cw_store_date_range(t, &lo, &hi) < 0) return 0;
        return add_date(r, code, comp, group, lo, hi);
    }
    if (type_is(v, "Period")) {
        int64_t l2, h2;
        cw_slice s = jstr(v->json, "start"), e = jstr(v->json, "end");
        lo = INT64_MIN;
        hi = INT64_MAX;
        if (s.len && cw_store_date_range(s, &lo, &h2) < 0) return 0;
        if (e.len && cw_store_date_range(e, &l2, &hi) < 0) return 0;
        if (!s.len && !e.len) return 0;
        return add_date(r, code, comp, group, lo, hi);
    }
    if (type_is(v, "Timing")) {
        const struct cw_json *ev = cw_json_get(v->json, "event");
        bool any = false;
        lo = INT64_MAX;
        hi = INT64_MIN;
        for (uint32_t i = 0; cw_json_is(ev, CW_JSON_ARRAY) && i < ev->len; i++) {
            int64_t l1, h1;
            if (cw_store_date_range(cw_json_text(&ev->u.items[i]), &l1, &h1) < 0) continue;
            if (l1 < lo) lo = l1;
            if (h1 > hi) hi = h1;
            any = true;
        }
        const struct cw_json *bp = cw_json_get(cw_json_get(v->json, "repeat"), "boundsPeriod");
        if (bp) {
            struct search_value pv = {.kind = SV_NODE, .type = cw_fhir_type_cstr("Period"), .json = bp};
            int k = rows_date(r, code, comp, group, &pv);
            if (k < 0) return -1;
            if (!any) return k;
            return add_date(r, code, comp, group, lo, hi) < 0 ? -1 : k + 1;
        }
        return any ? add_date(r, code, comp, group, lo, hi) : 0;
    }
    return 0;
}

/* ---- number and quantity ---- */

static int to_double(cw_slice text, double *d)
{
    if (!cw_json_check_number(text)) return -1;
    struct cw_json n = cw_json_number_text(text);
    if (cw_json_to_double(&n, d) < 0 || !isfinite(*d)) return -1;
    return 0;
}

static int rows_number(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                       const struct search_value *v)
{
    if (!is_primitive(v) || v->kind == SV_BOOLEAN || v->kind == SV_QUANTITY) return 0;
    if (v->kind == SV_NODE && !cw_json_is(v->json, CW_JSON_NUMBER)) return 0;
    double d;
    if (to_double(value_text(v), &d) < 0) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_NUMBER);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.number.value = d;
    return 1;
}

static int add_quantity(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                        const struct cw_json *valj, cw_slice system, cw_slice unit)
{
    double d;
    if (!cw_json_is(valj, CW_JSON_NUMBER) || to_double(cw_json_text(valj), &d) < 0) return 0;
    system = search_cut(system);
    unit = search_cut(unit);
    if (has_nul(system) || has_nul(unit)) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_QUANTITY);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.quantity.value = d;
    row->v.quantity.system = system.ptr ? system : CW_LIT("");
    row->v.quantity.code = unit.ptr ? unit : CW_LIT("");
    canonical(r, row);
    return 1;
}

static int quantity_obj(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                        const struct cw_json *q)
{
    cw_slice unit = jstr(q, "code");
    if (!unit.len) unit = jstr(q, "unit");
    return add_quantity(r, code, comp, group, cw_json_get(q, "value"), jstr(q, "system"), unit);
}

static int rows_quantity(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                         const struct search_value *v)
{
    if (v->kind == SV_QUANTITY) {
        double d;
        if (to_double(v->text, &d) < 0) return 0;
        struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_QUANTITY);
        if (!row) return -1;
        row->comp = comp;
        row->group = group;
        row->v.quantity.value = d;
        row->v.quantity.system = CW_LIT(UCUM_SYSTEM);
        row->v.quantity.code = search_cut(v->unit);
        canonical(r, row);
        return 1;
    }
    if (v->kind != SV_NODE) return 0;
    if (cw_fhir_sd_kind(v->type) == CW_FHIR_KIND_PRIMITIVE) {
        /* a bare number (e.g. a decimal reached by a quantity parameter) */
        if (!cw_json_is(v->json, CW_JSON_NUMBER)) return 0;
        return add_quantity(r, code, comp, group, v->json, CW_SLICE_NULL, CW_SLICE_NULL);
    }
    if (type_is(v, "Money"))
        return add_quantity(r, code, comp, group, cw_json_get(v->json, "value"),
                            CW_LIT("urn:iso:std:iso:4217"), jstr(v->json, "currency"));
    if (type_is(v, "Range")) {
        int n = 0;
        const char *ends[] = {"low", "high"};
        for (int i = 0; i < 2; i++) {
            const struct cw_json *q = cw_json_get(v->json, ends[i]);
            if (!cw_json_is(q, CW_JSON_OBJECT)) continue;
            int k = quantity_obj(r, code, comp, group, q);
            if (k < 0) return -1;
            n += k;
        }
        return n;
    }
    struct cw_fhir_sd quantity = cw_fhir_type_cstr("Quantity");
    if (cw_fhir_type_is_a(v->type, quantity)) return quantity_obj(r, code, comp, group, v->json);
    return 0;
}

/* ---- reference ---- */

static bool starts_with_cstr(cw_slice s, const char *p)
{
    return cw_slice_starts_with(s, cw_slice_cstr(p));
}

static bool is_absolute(cw_slice s)
{
    return starts_with_cstr(s, "http://") || starts_with_cstr(s, "https://") ||
           starts_with_cstr(s, "urn:") || starts_with_cstr(s, "ftp://");
}

static bool valid_type_name(cw_slice t)
{
    if (t.len == 0 || t.len > CW_STORE_MAX_TYPE || t.ptr[0] < 'A' || t.ptr[0] > 'Z') return false;
    struct cw_fhir_sd sd = cw_fhir_type(t);
    return cw_fhir_sd_ok(sd) && cw_fhir_sd_kind(sd) == CW_FHIR_KIND_RESOURCE;
}

static bool valid_id(cw_slice id)
{
    if (id.len == 0 || id.len > CW_STORE_MAX_ID) return false;
    for (size_t i = 0; i < id.len; i++) {
        char c = id.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* "Type/id" or "Type/id/_history/v" exactly; false otherwise. */
static bool parse_relative(cw_slice s, struct search_ref *out)
{
    long sl = cw_slice_index(s, '/');
    if (sl <= 0) return false;
    cw_slice type = cw_slice_sub(s, 0, (size_t)sl);
    cw_slice rest = cw_slice_sub(s, (size_t)sl + 1, s.len - (size_t)sl - 1);
    cw_slice id = rest, ver = CW_SLICE_NULL;
    long s2 = cw_slice_index(rest, '/');
    if (s2 >= 0) {
        id = cw_slice_sub(rest, 0, (size_t)s2);
        cw_slice tail = cw_slice_sub(rest, (size_t)s2 + 1, rest.len - (size_t)s2 - 1);
        if (!starts_with_cstr(tail, "_history/")) return false;
        ver = cw_slice_sub(tail, 9, tail.len - 9);
        if (!valid_id(ver)) return false;
    }
    if (!valid_type_name(type) || !valid_id(id)) return false;
    out->type = type;
    out->id = id;
    out->version = ver;
    return true;
}

void search_ref_parse(const struct search_rows *r, cw_slice text, struct search_ref *out)
{
    memset(out, 0, sizeof *out);
    if (text.len == 0) return;
    if (text.ptr[0] == '#') {
        /* a contained resource (references.html#contained) */
        const struct cw_json *contained = r ? cw_json_get(r->resource, "contained") : NULL;
        cw_slice want = cw_slice_sub(text, 1, text.len - 1);
        for (uint32_t i = 0; cw_json_is(contained, CW_JSON_ARRAY) && i < contained->len; i++) {
            const struct cw_json *c = &contained->u.items[i];
            if (cw_slice_eq(jstr(c, "id"), want)) {
                out->type = jstr(c, "resourceType");
                out->id = text;
                return;
            }
        }
        return;
    }
    if (is_absolute(text)) {
        for (size_t i = 0; r && i < r->n_local_bases; i++) {
            cw_slice b = r->local_bases[i];
            if (b.len && text.len > b.len + 1 && cw_slice_starts_with(text, b) &&
                text.ptr[b.len] == '/' &&
                parse_relative(cw_slice_sub(text, b.len + 1, text.len - b.len - 1), out))
                return;
        }
        out->url = text;
        return;
    }
    if (parse_relative(text, out)) return;
    /* Anything else (a bare id, a relative URL we cannot read) is kept as a URL. */
    out->url = text;
}

static int add_ref(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                   const struct search_ref *ref)
{
    cw_slice url = search_cut(ref->url);
    if (!ref->id.len && !url.len) return 0;
    if (has_nul(url) || has_nul(ref->id)) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_REFERENCE);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.ref.type = ref->type.ptr ? ref->type : CW_LIT("");
    row->v.ref.id = ref->id.ptr ? ref->id : CW_LIT("");
    row->v.ref.version = ref->version.ptr ? ref->version : CW_LIT("");
    row->v.ref.url = url.ptr ? url : CW_LIT("");
    return 1;
}

/* A canonical "url|version": the url as written and without the version. */
static int add_canonical(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                         cw_slice text)
{
    struct search_ref ref;
    search_ref_parse(r, text, &ref);
    int n = add_ref(r, code, comp, group, &ref);
    if (n < 0) return -1;
    long bar = cw_slice_index(text, '|');
    if (bar > 0) {
        struct search_ref bare;
        search_ref_parse(r, cw_slice_sub(text, 0, (size_t)bar), &bare);
        int k = add_ref(r, code, comp, group, &bare);
        if (k < 0) return -1;
        n += k;
    }
    return n;
}

static int rows_reference(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                          const struct search_value *v)
{
    if (is_primitive(v)) {
        if (v->kind != SV_NODE && v->kind != SV_STRING) return 0;
        return add_canonical(r, code, comp, group, value_text(v));
    }
    if (type_is(v, "Reference")) {
        int n = 0;
        cw_slice text = jstr(v->json, "reference");
        if (text.len) {
            struct search_ref ref;
            search_ref_parse(r, text, &ref);
            if ((n = add_ref(r, code, comp, group, &ref)) < 0) return -1;
        }
        const struct cw_json *ident = cw_json_get(v->json, "identifier");
        if (cw_json_is(ident, CW_JSON_OBJECT) && comp == 0 && group == 0) {
            cw_slice p = suffixed(r, code, ":identifier");
            if (!p.ptr) return -1;
            int k = add_token(r, p, 0, 0, jstr(ident, "system"), jstr(ident, "value"),
                              CW_SLICE_NULL);
            if (k < 0) return -1;
            n += k;
        }
        return n;
    }
    if (v->kind == SV_NODE && cw_fhir_sd_kind(v->type) == CW_FHIR_KIND_RESOURCE) {
        struct search_ref ref = {.type = jstr(v->json, "resourceType"), .id = jstr(v->json, "id")};
        if (!valid_type_name(ref.type) || !valid_id(ref.id)) return 0;
        return add_ref(r, code, comp, group, &ref);
    }
    return 0;
}

/* ---- uri ---- */

static int rows_uri(struct search_rows *r, cw_slice code, uint16_t comp, uint32_t group,
                    const struct search_value *v)
{
    if (!is_primitive(v) || (v->kind != SV_NODE && v->kind != SV_STRING)) return 0;
    cw_slice text = search_cut(value_text(v));
    if (!text.len || has_nul(text)) return 0;
    struct cw_store_index_row *row = search_rows_push(r, code, CW_SP_URI);
    if (!row) return -1;
    row->comp = comp;
    row->group = group;
    row->v.uri.uri = text;
    return 1;
}

int search_rows_add_value(struct search_rows *r, cw_slice code, enum cw_store_ptype t,
                          uint16_t comp, uint32_t group, const struct search_value *v)
{
    if (v->kind == SV_NODE && !v->json) return 0; /* only extensions */
    switch (t) {
    case CW_SP_STRING: return rows_string(r, code, comp, group, v);
    case CW_SP_TOKEN: return rows_token(r, code, comp, group, v);
    case CW_SP_DATE: return rows_date(r, code, comp, group, v);
    case CW_SP_NUMBER: return rows_number(r, code, comp, group, v);
    case CW_SP_QUANTITY: return rows_quantity(r, code, comp, group, v);
    case CW_SP_REFERENCE: return rows_reference(r, code, comp, group, v);
    case CW_SP_URI: return rows_uri(r, code, comp, group, v);
    default: return 0;
    }
}

struct search_value search_value_json(const char *type, const struct cw_json *json)
{
    return (struct search_value){.kind = SV_NODE, .type = cw_fhir_type_cstr(type), .json = json};
}
