/*
 * fhir_registry.c — StructureDefinitions loaded at run time (profiles,
 * extension definitions, logical models from implementation guides):
 * snapshot generation from differentials, and compilation into a
 * definition set of the same shape as the core tables (fhir_int.h), so
 * every lookup and the resource model work on profiles unchanged.
 *
 * Spec: FHIR R4 profiling.html ("Snapshot generation" is described by the
 * element rules of elementdefinition.html and profiling.html#slicing),
 * structuredefinition.html (differential, snapshot, baseDefinition).
 *
 * Snapshot generation (an id-driven merge; R4 differentials carry element
 * ids, e.g. "Observation.component:systolic.code"):
 *   1. Start from a copy of the base snapshot (core tables, or another
 *      registry profile generated first; cycles and depth are bounded).
 *   2. For each differential element in order, locate its id in the
 *      working snapshot segment by segment:
 *        - a child missing because it belongs to the element's type is
 *          made by expanding the type: the type's snapshot (or, for a type
 *          with exactly one profile, that profile's snapshot; for a
 *          contentReference, the referenced element's children as the
 *          base defines them, without this profile's slices and changes)
 *          is inserted after the element with ids re-rooted;
 *        - "name:slice" finds or creates the slice: a copy of the sliced
 *          element (min 0) and its children, inserted after the element's
 *          last slice;
 *        - a type-specific choice name ("valueQuantity") means value[x]
 *          itself when value[x] has only that type, else the type slice
 *          "value[x]:valueQuantity" (type narrowed, slicing type/$this
 *          added when missing).
 *   3. Apply the differential element: min, max, type, binding, fixed[x],
 *      pattern[x], min/maxValue[x], slicing, mustSupport, isModifier,
 *      maxLength, short replace; constraints are added (same key replaces).
 * What is not done: descriptive fields other than short are not carried
 * (definition, comment, mapping, example); re-slicing ("a/b") is accepted
 * but treated as a slice of the named slice; the differential is not
 * checked against the base beyond what locating requires (narrowing a
 * cardinality beyond the base is not reported).
 *
 * Owns: one arena holding the copied JSON texts, their trees and the
 * compiled set; working vectors are heap-allocated during build and freed
 * before it returns. Limits: REG_MAX_TEXT bytes per resource,
 * REG_MAX_ELEMS elements per snapshot, REG_MAX_DIFF differential elements,
 * REG_MAX_DEPTH nested generations.
 * Thread safety: build on one thread; read-only afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_int.h"

#define REG_MAX_TEXT  ((size_t)64 << 20)
#define REG_MAX_ELEMS 50000u
#define REG_MAX_DEPTH 24
#define REG_MAX_SDS   100000u
#define REG_MAX_DIFF                                                                               \
    10000u /* differential elements per profile (locating is linear in the snapshot) */

static const cw_slice SYSTEM_PREFIX = CW_LIT("http://hl7.org/fhirpath/System.");
static const char FHIR_TYPE_EXT[] =
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";
static const char PROFILE_ELEMENT_EXT[] =
    "http://hl7.org/fhir/StructureDefinition/elementdefinition-profile-element";
static const char BINDING_NAME_EXT[] =
    "http://hl7.org/fhir/StructureDefinition/elementdefinition-bindingName";

/* ---- string -> u32 map (open addressing, FNV-1a) ---- */

struct smap {
    cw_slice *keys;
    uint32_t *vals;
    size_t cap, n;
};

static uint64_t hash_bytes(cw_slice s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void smap_free(struct smap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int smap_grow(struct smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    cw_slice *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i].ptr) continue;
        size_t j = hash_bytes(m->keys[i]) & (cap - 1);
        while (keys[j].ptr) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

static uint32_t smap_get(const struct smap *m, cw_slice k)
{
    if (!m->cap) return FD_NONE;
    size_t j = hash_bytes(k) & (m->cap - 1);
    while (m->keys[j].ptr) {
        if (cw_slice_eq(m->keys[j], k)) return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return FD_NONE;
}

/* Insert k (its bytes must outlive the map). 0, 1 when already present, -1 OOM. */
static int smap_put(struct smap *m, cw_slice k, uint32_t v)
{
    if ((m->n + 1) * 2 > m->cap && smap_grow(m) < 0) return -1;
    if (!k.ptr) k.ptr = "";
    size_t j = hash_bytes(k) & (m->cap - 1);
    while (m->keys[j].ptr) {
        if (cw_slice_eq(m->keys[j], k)) return 1;
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = k;
    m->vals[j] = v;
    m->n++;
    return 0;
}

/* ---- element builders ---- */

struct eb_type {
    cw_slice code, fhir_type;
    cw_slice profile_elem; /* elementdefinition-profile-element of profiles[0], or "" */
    cw_slice *profiles, *targets;
    uint32_t n_profiles, n_targets, flags;
};
struct eb_cons {
    cw_slice key, human, expr, source;
    uint32_t severity;
};
struct eb_val {
    cw_slice key, json;
};
struct eb_discr {
    uint32_t type;
    cw_slice path;
};
/* One element of a snapshot under construction. Arrays are shared between
   copies and never modified in place (a change allocates a new array). */
struct eb {
    cw_slice id, slice_name, cref, short_, vs, bname, sdesc;
    uint32_t min, max, flags, max_length, strength, rules;
    bool has_binding, has_slicing, ordered;
    struct eb_type *types;
    struct eb_cons *cons;
    struct eb_val *vals;
    struct eb_discr *discr;
    uint32_t n_types, n_cons, n_vals, n_discr;
    /* the element as it was before this differential changed it (NULL when
       unchanged): a new slice starts from it (see make_slice) */
    const struct eb *orig;
};
struct ebvec {
    struct eb *v;
    size_t n, cap;
};

/* Which fields a differential element sets. */
struct delta {
    struct eb e;
    bool min, max, types, short_, ms, mod, maxlen, slicing, cref;
};

static void ebvec_free(struct ebvec *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

static int ebvec_insert(struct ebvec *v, size_t pos, const struct eb *items, size_t n)
{
    if (v->n + n > REG_MAX_ELEMS) return -1;
    if (v->n + n > v->cap) {
        size_t cap = v->cap ? v->cap : 64;
        while (cap < v->n + n) cap *= 2;
        struct eb *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) return -1;
        v->v = nv;
        v->cap = cap;
    }
    memmove(v->v + pos + n, v->v + pos, (v->n - pos) * sizeof *v->v);
    memcpy(v->v + pos, items, n * sizeof *items);
    v->n += n;
    return 0;
}

static int ebvec_copy(struct ebvec *dst, const struct ebvec *src)
{
    memset(dst, 0, sizeof *dst);
    return ebvec_insert(dst, 0, src->v, src->n);
}

/* ---- registry ---- */

enum { RS_NEW = 0, RS_WORKING, RS_DONE, RS_FAILED };

struct rsd {
    const struct cw_json *json;
    cw_slice url, base_url, type, name, version, kind, derivation;
    bool abstract;
    int state;
    struct ebvec snap;
    struct cw_err err;
    uint32_t set_index; /* FD_NONE until compiled */
    bool generated;
};

struct cw_fhir_registry {
    struct cw_arena *a;
    struct rsd *sds;
    size_t n, cap;
    struct smap by_url;
    struct cw_fhir_set *set;
    bool built;
};

struct cw_fhir_registry *cw_fhir_registry_new(void)
{
    struct cw_fhir_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->a = cw_arena_new(0);
    if (!r->a) {
        free(r);
        return NULL;
    }
    return r;
}

void cw_fhir_registry_free(struct cw_fhir_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) ebvec_free(&r->sds[i].snap);
    free(r->sds);
    smap_free(&r->by_url);
    cw_arena_destroy(r->a);
    free(r);
}

size_t fhir_registry_nsets(const struct cw_fhir_registry *r)
{
    return r && r->set ? 1 : 0;
}

const struct cw_fhir_set *fhir_registry_set(const struct cw_fhir_registry *r, size_t i)
{
    return r && i == 0 ? r->set : NULL;
}

static cw_slice jtext(const struct cw_json *obj, const char *key)
{
    const struct cw_json *v = cw_json_get(obj, key);
    return cw_json_is(v, CW_JSON_STRING) ? cw_json_text(v) : (cw_slice){"", 0};
}

int cw_fhir_registry_add(struct cw_fhir_registry *r, const char *json, size_t len,
                         struct cw_err *err)
{
    if (r->built) return cw_err_set(err, CW_ISSUE_PROCESSING, "registry already built");
    if (len > REG_MAX_TEXT)
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "resource larger than %zu bytes", REG_MAX_TEXT);
    if (r->n >= REG_MAX_SDS) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "too many definitions");
    char *copy = cw_arena_strndup(r->a, json, len);
    if (!copy) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    struct cw_json *root;
    struct cw_json_opts o = {.flags = CW_JSON_ALLOW_BOM};
    if (cw_json_parse(r->a, copy, len, &o, &root, err) != 0) return -1;
    if (!cw_slice_eq_cstr(jtext(root, "resourceType"), "StructureDefinition")) return 1;
    struct rsd d = {.json = root, .set_index = FD_NONE};
    d.url = jtext(root, "url");
    d.base_url = jtext(root, "baseDefinition");
    d.type = jtext(root, "type");
    d.name = jtext(root, "name");
    d.version = jtext(root, "version");
    d.kind = jtext(root, "kind");
    d.derivation = jtext(root, "derivation");
    {
        /* a "specialization" of a core type that keeps its type is no new
           type (a specialization defines one): it constrains the base, and
           is read as the constraint it is (the Java validator does too) */
        cw_slice b = d.base_url;
        static const char core[] = "http://hl7.org/fhir/StructureDefinition/";
        if (cw_slice_eq_cstr(d.derivation, "specialization") &&
            cw_slice_starts_with(b, cw_slice_cstr(core)) &&
            cw_slice_eq((cw_slice){b.ptr + sizeof core - 1, b.len - (sizeof core - 1)}, d.type))
            d.derivation = CW_LIT("constraint");
    }
    d.abstract = cw_json_is(cw_json_get(root, "abstract"), CW_JSON_TRUE);
    if (!d.url.len) return cw_err_set(err, CW_ISSUE_REQUIRED, "StructureDefinition without url");
    if (!d.type.len) return cw_err_set(err, CW_ISSUE_REQUIRED, "StructureDefinition without type");
    const struct cw_json *snap = cw_json_get(cw_json_get(root, "snapshot"), "element");
    const struct cw_json *diff = cw_json_get(cw_json_get(root, "differential"), "element");
    if (!cw_json_is(snap, CW_JSON_ARRAY) && !cw_json_is(diff, CW_JSON_ARRAY))
        return cw_err_set(err, CW_ISSUE_REQUIRED,
                          "StructureDefinition with neither snapshot nor differential");
    if (smap_get(&r->by_url, d.url) != FD_NONE) {
        cw_err_set(err, CW_ISSUE_DUPLICATE, "StructureDefinition added twice");
        cw_err_at_slice(err, d.url);
        return -1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct rsd *nv = realloc(r->sds, cap * sizeof *nv);
        if (!nv) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
        r->sds = nv;
        r->cap = cap;
    }
    if (smap_put(&r->by_url, d.url, (uint32_t)r->n) < 0)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    r->sds[r->n++] = d;
    return 0;
}

/* ---- ElementDefinition JSON -> builder ---- */

static cw_slice *jstrings(struct cw_arena *a, const struct cw_json *arr, uint32_t *n)
{
    *n = 0;
    if (!cw_json_is(arr, CW_JSON_ARRAY) || arr->len == 0) return NULL;
    cw_slice *out = cw_arena_array(a, arr->len, sizeof *out);
    if (!out) return NULL;
    for (uint32_t i = 0; i < arr->len; i++)
        if (cw_json_is(&arr->u.items[i], CW_JSON_STRING))
            out[(*n)++] = cw_json_text(&arr->u.items[i]);
    return out;
}

static cw_slice ext_value(const struct cw_json *obj, const char *url, const char *vkey)
{
    const struct cw_json *ext = cw_json_get(obj, "extension");
    if (!cw_json_is(ext, CW_JSON_ARRAY)) return (cw_slice){"", 0};
    for (uint32_t i = 0; i < ext->len; i++)
        if (cw_slice_eq_cstr(jtext(&ext->u.items[i], "url"), url))
            return jtext(&ext->u.items[i], vkey);
    return (cw_slice){"", 0};
}

static int parse_max(cw_slice m, uint32_t *out)
{
    if (cw_slice_eq_cstr(m, "*")) {
        *out = FD_MAX_STAR;
        return 0;
    }
    unsigned long long v;
    if (cw_slice_to_u64(m, &v) != 0 || v >= FD_MAX_STAR) return -1;
    *out = (uint32_t)v;
    return 0;
}

/*
 * Element extensions the validator acts on (fhir_validate_ctrl.c): kept
 * with the element's values under the extension URL as key, the JSON an
 * array of the value[x] of every such extension (some repeat), so that
 * they merge like fixed values when a snapshot is generated.
 */
static const char *const CONTROL_EXTS[] = {
    "http://hl7.org/fhir/StructureDefinition/minLength",
    "http://hl7.org/fhir/StructureDefinition/narrative-language-control",
    "http://hl7.org/fhir/StructureDefinition/narrative-source-control",
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue",
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.valueAlternatives",
};

static int el_control_exts(struct cw_arena *a, const struct cw_json *el, struct eb *e,
                           struct cw_err *err)
{
    const struct cw_json *ext = cw_json_get(el, "extension");
    if (!cw_json_is(ext, CW_JSON_ARRAY)) return 0;
    for (size_t c = 0; c < sizeof CONTROL_EXTS / sizeof CONTROL_EXTS[0]; c++) {
        struct cw_buf buf;
        cw_buf_init(&buf, 1 << 16);
        size_t n = 0;
        for (uint32_t i = 0; i < ext->len; i++) {
            const struct cw_json *x = &ext->u.items[i];
            if (!cw_slice_eq_cstr(jtext(x, "url"), CONTROL_EXTS[c])) continue;
            for (uint32_t m = 0; cw_json_is(x, CW_JSON_OBJECT) && m < x->len; m++) {
                if (!cw_slice_starts_with(x->u.members[m].key, CW_LIT("value"))) continue;
                cw_buf_putc(&buf, n++ ? ',' : '[');
                if (cw_json_write(&buf, &x->u.members[m].value, 0) != 0) {
                    cw_buf_release(&buf);
                    return cw_err_set(err, CW_ISSUE_TOO_LONG, "an element extension is too large");
                }
            }
        }
        if (!n) {
            cw_buf_release(&buf);
            continue;
        }
        cw_buf_putc(&buf, ']');
        struct eb_val *nv = cw_arena_array(a, e->n_vals + 1, sizeof *nv);
        cw_slice json = cw_buf_failed(&buf) ? CW_SLICE_NULL : cw_arena_dup(a, cw_buf_slice(&buf));
        cw_buf_release(&buf);
        if (!nv || !json.ptr) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
        if (e->n_vals) memcpy(nv, e->vals, e->n_vals * sizeof *nv);
        nv[e->n_vals].key = cw_slice_cstr(CONTROL_EXTS[c]);
        nv[e->n_vals].json = json;
        e->vals = nv;
        e->n_vals++;
    }
    return 0;
}

static int el_from_json(struct cw_arena *a, const struct cw_json *el, struct delta *d,
                        struct cw_err *err)
{
    memset(d, 0, sizeof *d);
    struct eb *e = &d->e;
    if (!cw_json_is(el, CW_JSON_OBJECT))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "element is not an object");
    e->id = jtext(el, "id");
    e->slice_name = jtext(el, "sliceName");
    const struct cw_json *v;
    if ((v = cw_json_get(el, "min"))) {
        long long m;
        if (cw_json_to_i64(v, &m) != 0 || m < 0 || m > 1000000)
            return cw_err_set(err, CW_ISSUE_VALUE, "bad min");
        e->min = (uint32_t)m;
        d->min = true;
    }
    if ((v = cw_json_get(el, "max"))) {
        if (parse_max(cw_json_text(v), &e->max) != 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "bad max");
        d->max = true;
    }
    if ((v = cw_json_get(el, "short"))) {
        e->short_ = cw_json_text(v);
        d->short_ = true;
    }
    if ((v = cw_json_get(el, "mustSupport"))) {
        d->ms = true;
        if (v->type == CW_JSON_TRUE) e->flags |= FD_E_MUST_SUPPORT;
    }
    if ((v = cw_json_get(el, "isModifier"))) {
        d->mod = true;
        if (v->type == CW_JSON_TRUE) e->flags |= FD_E_MODIFIER;
    }
    if (cw_json_is(cw_json_get(el, "isSummary"), CW_JSON_TRUE)) e->flags |= FD_E_SUMMARY;
    {
        /* json.html: arrays follow the base definition's max (base.max, else max) */
        const struct cw_json *bm = cw_json_get(cw_json_get(el, "base"), "max");
        if (!bm) bm = cw_json_get(el, "max");
        uint32_t m;
        if (bm && parse_max(cw_json_text(bm), &m) == 0 && m > 1) e->flags |= FD_E_REPEATS;
    }
    const struct cw_json *rep = cw_json_get(el, "representation");
    for (uint32_t i = 0; cw_json_is(rep, CW_JSON_ARRAY) && i < rep->len; i++) {
        cw_slice r = cw_json_text(&rep->u.items[i]);
        if (cw_slice_eq_cstr(r, "xmlAttr")) e->flags |= FD_E_XML_ATTR;
        if (cw_slice_eq_cstr(r, "xhtml")) e->flags |= FD_E_XHTML;
        if (cw_slice_eq_cstr(r, "xmlText")) e->flags |= FD_E_XML_TEXT;
        if (cw_slice_eq_cstr(r, "typeAttr")) e->flags |= FD_E_TYPE_ATTR;
        if (cw_slice_eq_cstr(r, "cdaText")) e->flags |= FD_E_CDA_TEXT;
    }
    if ((v = cw_json_get(el, "maxLength"))) {
        long long m;
        if (cw_json_to_i64(v, &m) == 0 && m > 0 && m < (1LL << 31)) e->max_length = (uint32_t)m;
        d->maxlen = true;
    }
    if ((v = cw_json_get(el, "contentReference"))) {
        e->cref = cw_json_text(v);
        d->cref = true;
    }
    const struct cw_json *types = cw_json_get(el, "type");
    if (cw_json_is(types, CW_JSON_ARRAY)) {
        d->types = true;
        e->types = cw_arena_array(a, types->len ? types->len : 1, sizeof *e->types);
        if (!e->types) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
        for (uint32_t i = 0; i < types->len; i++) {
            const struct cw_json *t = &types->u.items[i];
            struct eb_type *et = &e->types[e->n_types];
            memset(et, 0, sizeof *et);
            et->code = jtext(t, "code");
            if (!et->code.len) continue;
            et->fhir_type = ext_value(t, FHIR_TYPE_EXT, "valueUrl");
            if (!et->fhir_type.len) et->fhir_type = ext_value(t, FHIR_TYPE_EXT, "valueUri");
            et->profiles = jstrings(a, cw_json_get(t, "profile"), &et->n_profiles);
            {
                const struct cw_json *pe = cw_json_get(t, "_profile");
                if (cw_json_is(pe, CW_JSON_ARRAY) && pe->len)
                    et->profile_elem =
                        ext_value(&pe->u.items[0], PROFILE_ELEMENT_EXT, "valueString");
            }
            et->targets = jstrings(a, cw_json_get(t, "targetProfile"), &et->n_targets);
            const struct cw_json *agg = cw_json_get(t, "aggregation");
            for (uint32_t k = 0; cw_json_is(agg, CW_JSON_ARRAY) && k < agg->len; k++) {
                cw_slice g = cw_json_text(&agg->u.items[k]);
                if (cw_slice_eq_cstr(g, "contained")) et->flags |= FD_T_AGG_CONTAINED;
                if (cw_slice_eq_cstr(g, "referenced")) et->flags |= FD_T_AGG_REFERENCED;
                if (cw_slice_eq_cstr(g, "bundled")) et->flags |= FD_T_AGG_BUNDLED;
            }
            cw_slice ver = jtext(t, "versioning");
            if (cw_slice_eq_cstr(ver, "specific")) et->flags |= FD_T_VERSION_SPECIFIC;
            if (cw_slice_eq_cstr(ver, "independent")) et->flags |= FD_T_VERSION_INDEPENDENT;
            e->n_types++;
        }
    }
    const struct cw_json *cons = cw_json_get(el, "constraint");
    if (cw_json_is(cons, CW_JSON_ARRAY) && cons->len) {
        e->cons = cw_arena_array(a, cons->len, sizeof *e->cons);
        if (!e->cons) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
        for (uint32_t i = 0; i < cons->len; i++) {
            const struct cw_json *c = &cons->u.items[i];
            struct eb_cons *ec = &e->cons[e->n_cons];
            ec->key = jtext(c, "key");
            if (!ec->key.len) continue;
            ec->human = jtext(c, "human");
            ec->expr = jtext(c, "expression");
            ec->source = jtext(c, "source");
            ec->severity =
                cw_slice_eq_cstr(jtext(c, "severity"), "warning") ? CW_SEV_WARNING : CW_SEV_ERROR;
            e->n_cons++;
        }
    }
    const struct cw_json *b = cw_json_get(el, "binding");
    if (cw_json_is(b, CW_JSON_OBJECT)) {
        static const char *const str[] = {"", "required", "extensible", "preferred", "example"};
        cw_slice s = jtext(b, "strength");
        e->strength = 0;
        for (uint32_t k = 1; k < 5; k++)
            if (cw_slice_eq_cstr(s, str[k])) e->strength = k;
        e->vs = jtext(b, "valueSet");
        e->bname = ext_value(b, BINDING_NAME_EXT, "valueString");
        e->has_binding = e->strength != 0;
    }
    const struct cw_json *sl = cw_json_get(el, "slicing");
    if (cw_json_is(sl, CW_JSON_OBJECT)) {
        d->slicing = true;
        e->has_slicing = true;
        cw_slice rules = jtext(sl, "rules");
        e->rules = cw_slice_eq_cstr(rules, "closed")      ? CW_FHIR_SLICING_CLOSED
                   : cw_slice_eq_cstr(rules, "openAtEnd") ? CW_FHIR_SLICING_OPEN_AT_END
                   : rules.len                            ? CW_FHIR_SLICING_OPEN
                                                          : 0;
        e->ordered = cw_json_is(cw_json_get(sl, "ordered"), CW_JSON_TRUE);
        e->sdesc = jtext(sl, "description");
        const struct cw_json *ds = cw_json_get(sl, "discriminator");
        if (cw_json_is(ds, CW_JSON_ARRAY) && ds->len) {
            static const char *const dt[] = {"", "value", "exists", "pattern", "type", "profile"};
            e->discr = cw_arena_array(a, ds->len, sizeof *e->discr);
            if (!e->discr) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
            for (uint32_t i = 0; i < ds->len; i++) {
                cw_slice t = jtext(&ds->u.items[i], "type");
                uint32_t ty = 0;
                for (uint32_t k = 1; k < 6; k++)
                    if (cw_slice_eq_cstr(t, dt[k])) ty = k;
                if (!ty)
                    /* DiscriminatorType is a required binding: a slicing we
                       cannot evaluate is no slicing */
                    return cw_err_set(err, CW_ISSUE_CODE_INVALID, "unknown discriminator type");
                e->discr[e->n_discr].type = ty;
                e->discr[e->n_discr].path = jtext(&ds->u.items[i], "path");
                e->n_discr++;
            }
        }
    }
    /* fixed[x], pattern[x], minValue[x], maxValue[x], defaultValue[x] */
    static const char *const prefixes[] = {"fixed", "pattern", "minValue", "maxValue",
                                           "defaultValue"};
    for (uint32_t i = 0; i < el->len; i++) {
        cw_slice k = el->u.members[i].key;
        for (int p = 0; p < 5; p++) {
            size_t pl = strlen(prefixes[p]);
            if (k.len <= pl || memcmp(k.ptr, prefixes[p], pl) != 0 || k.ptr[pl] < 'A' ||
                k.ptr[pl] > 'Z')
                continue;
            struct cw_buf buf;
            cw_buf_init(&buf, 1 << 20);
            if (cw_json_write(&buf, &el->u.members[i].value, 0) != 0) {
                cw_buf_release(&buf);
                return cw_err_set(err, CW_ISSUE_TOO_LONG, "a fixed/pattern value is too large");
            }
            struct eb_val *nv = cw_arena_array(a, e->n_vals + 1, sizeof *nv);
            if (!nv) {
                cw_buf_release(&buf);
                return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
            }
            if (e->n_vals) memcpy(nv, e->vals, e->n_vals * sizeof *nv);
            nv[e->n_vals].key = k;
            nv[e->n_vals].json = cw_arena_dup(a, cw_buf_slice(&buf));
            cw_buf_release(&buf);
            e->vals = nv;
            e->n_vals++;
            break;
        }
    }
    return el_control_exts(a, el, e, err);
}

/* Core compiled SD -> builder elements. */
static int eb_from_core(struct cw_arena *a, struct cw_fhir_sd sd, struct ebvec *out)
{
    memset(out, 0, sizeof *out);
    size_t n = cw_fhir_sd_elem_count(sd);
    for (size_t k = 0; k < n; k++) {
        struct cw_fhir_elem h = cw_fhir_sd_elem_at(sd, k);
        const struct fd_elem *fe = fhir_elem_rec(h);
        const struct cw_fhir_set *s = h.set;
        struct eb e;
        memset(&e, 0, sizeof e);
        e.id = cw_fhir_elem_id(h);
        e.slice_name = cw_fhir_elem_slice_name(h);
        e.min = fe->min;
        e.max = fe->max;
        e.flags = fe->flags &
                  (FD_E_SUMMARY | FD_E_MODIFIER | FD_E_MUST_SUPPORT | FD_E_XML_ATTR | FD_E_XHTML |
                   FD_E_XML_TEXT | FD_E_TYPE_ATTR | FD_E_CDA_TEXT | FD_E_REPEATS);
        e.max_length = cw_fhir_elem_max_length(h);
        if (fe->cref != FD_NONE) {
            cw_slice t = fhir_str(s, s->elems[fe->cref].id);
            char *c = cw_arena_printf(a, "#%.*s", CW_SLICE_FMT(t));
            if (!c) return -1;
            e.cref = cw_slice_cstr(c);
        }
        if (fe->n_trefs) {
            e.types = cw_arena_array(a, fe->n_trefs, sizeof *e.types);
            if (!e.types) return -1;
            for (uint32_t t = 0; t < fe->n_trefs; t++) {
                const struct fd_tref *tr = &s->trefs[fe->trefs + t];
                struct eb_type *et = &e.types[t];
                memset(et, 0, sizeof *et);
                et->code = fhir_str(s, tr->code);
                if (tr->flags & FD_T_SYSTEM)
                    et->fhir_type = cw_fhir_sd_type_name(fhir_base_sd(tr->sd));
                et->flags = tr->flags & ~(uint32_t)FD_T_SYSTEM;
                et->n_profiles = fhir_list_len(s, tr->profiles);
                et->n_targets = fhir_list_len(s, tr->targets);
                et->profiles = cw_arena_array(a, et->n_profiles + 1, sizeof(cw_slice));
                et->targets = cw_arena_array(a, et->n_targets + 1, sizeof(cw_slice));
                if (!et->profiles || !et->targets) return -1;
                for (uint32_t q = 0; q < et->n_profiles; q++)
                    et->profiles[q] = fhir_str(s, fhir_list_at(s, tr->profiles, q));
                for (uint32_t q = 0; q < et->n_targets; q++)
                    et->targets[q] = fhir_str(s, fhir_list_at(s, tr->targets, q));
            }
            e.n_types = fe->n_trefs;
        }
        size_t nc = cw_fhir_elem_constraint_count(h);
        if (nc) {
            e.cons = cw_arena_array(a, nc, sizeof *e.cons);
            if (!e.cons) return -1;
            for (size_t c = 0; c < nc; c++) {
                struct cw_fhir_constraint con;
                cw_fhir_elem_constraint(h, c, &con);
                e.cons[c] =
                    (struct eb_cons){con.key, con.human, con.expression, con.source, con.severity};
            }
            e.n_cons = (uint32_t)nc;
        }
        struct cw_fhir_binding b;
        if (cw_fhir_elem_binding(h, &b)) {
            e.has_binding = true;
            e.strength = b.strength;
            e.vs = b.value_set;
            e.bname = b.name;
        }
        size_t nv = cw_fhir_elem_value_count(h);
        if (nv) {
            e.vals = cw_arena_array(a, nv, sizeof *e.vals);
            if (!e.vals) return -1;
            for (size_t v = 0; v < nv; v++)
                cw_fhir_elem_value(h, v, &e.vals[v].key, &e.vals[v].json);
            e.n_vals = (uint32_t)nv;
        }
        struct cw_fhir_slicing sl;
        if (cw_fhir_elem_slicing(h, &sl)) {
            e.has_slicing = true;
            e.rules = sl.rules;
            e.ordered = sl.ordered;
            e.discr = cw_arena_array(a, sl.n_discriminators + 1, sizeof *e.discr);
            if (!e.discr) return -1;
            for (size_t q = 0; q < sl.n_discriminators; q++) {
                enum cw_fhir_discriminator dt;
                cw_fhir_elem_discriminator(h, q, &dt, &e.discr[q].path);
                e.discr[q].type = dt;
            }
            e.n_discr = (uint32_t)sl.n_discriminators;
        }
        if (ebvec_insert(out, out->n, &e, 1) < 0) return -1;
    }
    return 0;
}

/* ---- snapshot generation ---- */

struct gen {
    struct cw_fhir_registry *r;
    struct ebvec *S;
    int depth;
    struct cw_err *err;
};

static int ensure_snapshot(struct cw_fhir_registry *r, size_t k, int depth);

/* A snapshot for a URL: registry (generated first) or core. */
static int snapshot_of(struct cw_fhir_registry *r, cw_slice url, int depth, struct ebvec *out,
                       struct cw_err *err)
{
    url = fhir_canonical_url(url);
    uint32_t k = smap_get(&r->by_url, url);
    if (k != FD_NONE) {
        if (ensure_snapshot(r, k, depth + 1) < 0) {
            cw_err_set(err, CW_ISSUE_NOT_FOUND, "base or type profile could not be generated");
            cw_err_at_slice(err, url);
            return -1;
        }
        if (ebvec_copy(out, &r->sds[k].snap) < 0)
            return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "too many elements");
        for (size_t i = 0; i < out->n; i++) out->v[i].orig = NULL; /* its result is our base */
        return 0;
    }
    struct cw_fhir_sd sd = cw_fhir_sd_by_url(NULL, url);
    if (!sd.set) {
        cw_err_set(err, CW_ISSUE_NOT_FOUND, "definition not found");
        cw_err_at_slice(err, url);
        return -1;
    }
    if (eb_from_core(r->a, sd, out) < 0)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    return 0;
}

static long find_id(const struct ebvec *S, cw_slice id)
{
    for (size_t i = 0; i < S->n; i++)
        if (cw_slice_eq(S->v[i].id, id)) return (long)i;
    return -1;
}

/* s starts with p followed by byte c. */
static bool under(cw_slice s, cw_slice p, char c)
{
    return s.len > p.len && memcmp(s.ptr, p.ptr, p.len) == 0 && s.ptr[p.len] == c;
}

static cw_slice join(struct cw_arena *a, cw_slice x, char sep, cw_slice y)
{
    char *p = cw_arena_printf(a, "%.*s%c%.*s", CW_SLICE_FMT(x), sep, CW_SLICE_FMT(y));
    return p ? cw_slice_cstr(p) : (cw_slice){NULL, 0};
}

/* Re-root: prefix + id[from:] */
static cw_slice reroot(struct cw_arena *a, cw_slice prefix, cw_slice id, size_t from)
{
    char *p =
        cw_arena_printf(a, "%.*s%.*s", CW_SLICE_FMT(prefix), (int)(id.len - from), id.ptr + from);
    return p ? cw_slice_cstr(p) : (cw_slice){NULL, 0};
}

/* Insert the children element idx gets from its type (or contentReference). */
static int expand(struct gen *g, size_t idx)
{
    struct eb *e = &g->S->v[idx];
    cw_slice eid = e->id;
    struct ebvec src = {0};
    size_t from = 0;
    cw_slice root_id;
    if (e->cref.len) {
        cw_slice t = e->cref;
        long hash = cw_slice_index(t, '#');
        if (hash >= 0) t = (cw_slice){t.ptr + hash + 1, t.len - (size_t)hash - 1};
        long ti = find_id(g->S, t);
        if (ti < 0)
            return cw_err_set(g->err, CW_ISSUE_NOT_FOUND, "contentReference target missing");
        root_id = g->S->v[ti].id;
        size_t end = (size_t)ti + 1;
        while (end < g->S->n && under(g->S->v[end].id, root_id, '.')) end++;
        /* the referenced element's definition, not this profile's changes to
           it: elementdefinition.html#contentReference points at the base
           content, so slices, patterns and cardinalities the differential
           put on the target (and on its children) are not repeated at every
           recursion level */
        for (size_t k = (size_t)ti; k < end; k++) {
            const struct eb *x = &g->S->v[k];
            cw_slice rest = {x->id.ptr + root_id.len, x->id.len - root_id.len};
            if (memchr(rest.ptr, ':', rest.len)) continue; /* a slice or inside one */
            struct eb one = x->orig ? *x->orig : *x;
            one.id = x->id;
            one.orig = NULL;
            if (ebvec_insert(&src, src.n, &one, 1) < 0) {
                ebvec_free(&src);
                return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "too many elements");
            }
        }
    } else {
        if (e->n_types == 0)
            return cw_err_set(g->err, CW_ISSUE_INVALID, "element without a type has no children");
        cw_slice code = e->types[0].code;
        for (uint32_t t = 1; t < e->n_types; t++)
            if (!cw_slice_eq(e->types[t].code, code))
                return cw_err_set(g->err, CW_ISSUE_INVALID,
                                  "children of a choice of several types");
        if (g->depth >= REG_MAX_DEPTH)
            return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "profiles nested too deeply");
        int rc;
        if (e->n_types == 1 && e->types[0].n_profiles == 1)
            rc = snapshot_of(g->r, e->types[0].profiles[0], g->depth, &src, g->err);
        else {
            cw_slice tn = e->types[0].fhir_type.len ? e->types[0].fhir_type : code;
            struct cw_fhir_sd t = cw_fhir_type(tn);
            if (!t.set) {
                cw_err_set(g->err, CW_ISSUE_NOT_FOUND, "unknown type");
                cw_err_at_slice(g->err, tn);
                return -1;
            }
            rc = snapshot_of(g->r, cw_fhir_sd_url(t), g->depth, &src, g->err);
        }
        if (rc < 0) return -1;
        if (src.n == 0) return cw_err_set(g->err, CW_ISSUE_INVALID, "empty type snapshot");
        root_id = src.v[0].id;
    }
    from = root_id.len;
    /* src[0] is the root of the type (or the referenced element): skip it */
    for (size_t i = 1; i < src.n; i++) {
        src.v[i].id = reroot(g->r->a, eid, src.v[i].id, from);
        if (!src.v[i].id.ptr) {
            ebvec_free(&src);
            return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
        }
    }
    int rc = src.n > 1 ? ebvec_insert(g->S, idx + 1, src.v + 1, src.n - 1) : 0;
    ebvec_free(&src);
    if (rc < 0) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "too many elements");
    return 0;
}

/*
 * A type profile that names one element of the profile
 * (elementdefinition-profile-element: "Composition.section:codeA" of a
 * library of sections): element idx takes that element's content — its
 * descendants replace the ones it has, re-rooted — and the type keeps
 * its code without the profile (the profile's root is of another type).
 */
static int expand_profile_element(struct gen *g, size_t idx, const struct eb_type *t)
{
    struct ebvec src = {0};
    if (g->depth >= REG_MAX_DEPTH)
        return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "profiles nested too deeply");
    if (snapshot_of(g->r, t->profiles[0], g->depth, &src, g->err) < 0) return -1;
    long xi = find_id(&src, t->profile_elem);
    if (xi < 0) {
        ebvec_free(&src);
        cw_err_set(g->err, CW_ISSUE_NOT_FOUND, "the profile has no element the type names");
        cw_err_at_slice(g->err, t->profile_elem);
        return -1;
    }
    cw_slice xid = src.v[xi].id;
    size_t xend = (size_t)xi + 1;
    while (xend < src.n && under(src.v[xend].id, xid, '.')) xend++;
    cw_slice eid = g->S->v[idx].id;
    size_t kend = idx + 1;
    while (kend < g->S->n && under(g->S->v[kend].id, eid, '.')) kend++;
    /* drop the current descendants */
    if (kend > idx + 1) {
        memmove(g->S->v + idx + 1, g->S->v + kend, (g->S->n - kend) * sizeof *g->S->v);
        g->S->n -= kend - idx - 1;
    }
    for (size_t i = (size_t)xi + 1; i < xend; i++) {
        src.v[i].id = reroot(g->r->a, eid, src.v[i].id, xid.len);
        src.v[i].orig = NULL;
        if (!src.v[i].id.ptr) {
            ebvec_free(&src);
            return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
        }
    }
    int rc = xend > (size_t)xi + 1
                 ? ebvec_insert(g->S, idx + 1, src.v + xi + 1, xend - (size_t)xi - 1)
                 : 0;
    ebvec_free(&src);
    if (rc < 0) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "too many elements");
    struct eb *e = &g->S->v[idx];
    struct eb_type *nt = cw_arena_array(g->r->a, e->n_types ? e->n_types : 1, sizeof *nt);
    if (!nt) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
    for (uint32_t k = 0; k < e->n_types; k++) {
        nt[k] = e->types[k];
        if (nt[k].profile_elem.len) {
            nt[k].profiles = NULL;
            nt[k].n_profiles = 0;
            nt[k].profile_elem = CW_SLICE_NULL;
        }
    }
    e->types = nt;
    return 0;
}

/* Create slice 'name' of element idx; returns its index or -1. */
static long make_slice(struct gen *g, size_t idx, cw_slice name)
{
    struct eb *sliced = &g->S->v[idx];
    if (!sliced->has_slicing && sliced->n_types == 1 &&
        cw_slice_eq_cstr(sliced->types[0].code, "Extension")) {
        /* profiling.html: extensions are always sliced by url (the IG
           publisher writes this slicing when a profile omits it) */
        struct eb_discr *dd = cw_arena_alloc(g->r->a, sizeof *dd);
        if (!dd) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
        dd->type = CW_FHIR_DISCR_VALUE;
        dd->path = CW_LIT("url");
        sliced->has_slicing = true;
        sliced->rules = CW_FHIR_SLICING_OPEN;
        sliced->ordered = false;
        sliced->sdesc = CW_LIT("Extensions are always sliced by (at least) url");
        sliced->discr = dd;
        sliced->n_discr = 1;
    }
    cw_slice base = g->S->v[idx].id;
    size_t kids_end = idx + 1;
    while (kids_end < g->S->n && under(g->S->v[kids_end].id, base, '.')) kids_end++;
    size_t end = kids_end;
    while (end < g->S->n &&
           (under(g->S->v[end].id, base, '.') || under(g->S->v[end].id, base, ':')))
        end++;
    cw_slice sid = join(g->r->a, base, ':', name);
    if (!sid.ptr) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
    size_t n = kids_end - idx;
    struct eb *copy = malloc(n * sizeof *copy);
    if (!copy) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
    /* The slice starts from the sliced element as the base had it (the
       differential's changes to the sliced element, such as its type
       profile or minimum, are not the slice's), and from the children as
       they are now (constraints on the children apply to every slice).
       This is what the HL7 IG publisher produces (checked against the IPS
       snapshots in tests/fhir/test_fhir_profiles.c). */
    memcpy(copy, g->S->v + idx, n * sizeof *copy);
    if (copy[0].orig) copy[0] = *copy[0].orig;
    for (size_t i = 0; i < n; i++) copy[i].orig = NULL;
    copy[0].id = sid;
    copy[0].slice_name = name;
    /* a slice is optional unless the differential says otherwise: the
       sliced element's minimum counts all its slices together (profiling.html
       #slicing; the Java snapshot generator starts each slice at 0) */
    copy[0].min = 0;
    copy[0].has_slicing = false;
    copy[0].n_discr = 0;
    for (size_t i = 1; i < n; i++) {
        copy[i].id = reroot(g->r->a, sid, copy[i].id, base.len);
        if (!copy[i].id.ptr) {
            free(copy);
            return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
        }
    }
    int rc = ebvec_insert(g->S, end, copy, n);
    free(copy);
    if (rc < 0) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "too many elements");
    return (long)end;
}

static bool has_kids(const struct ebvec *S, size_t idx)
{
    return idx + 1 < S->n && under(S->v[idx + 1].id, S->v[idx].id, '.');
}

/* Does choice suffix s ("Quantity") name type code t ("Quantity", "dateTime")? */
static bool suffix_is_type(cw_slice s, const struct eb_type *t)
{
    cw_slice c = t->fhir_type.len ? t->fhir_type : t->code;
    if (s.len != c.len || !s.len) return false;
    char f = c.ptr[0];
    if (f >= 'a' && f <= 'z') f = (char)(f - 'a' + 'A');
    return s.ptr[0] == f && memcmp(s.ptr + 1, c.ptr + 1, s.len - 1) == 0;
}

/* Locate (creating what is needed) the element with differential id 'id'. */
static long locate(struct gen *g, cw_slice id)
{
    size_t start = 0;
    size_t seglen = 0;
    while (seglen < id.len && id.ptr[seglen] != '.') seglen++;
    cw_slice root = {id.ptr, seglen};
    if (g->S->n == 0 || !cw_slice_eq(g->S->v[0].id, root)) {
        cw_err_set(g->err, CW_ISSUE_INVALID, "differential element outside the type");
        cw_err_at_slice(g->err, id);
        return -1;
    }
    long cur = 0;
    start = seglen;
    while (start < id.len) {
        start++; /* skip '.' */
        size_t end = start;
        while (end < id.len && id.ptr[end] != '.') end++;
        cw_slice seg = {id.ptr + start, end - start};
        start = end;
        long colon = cw_slice_index(seg, ':');
        cw_slice name = colon < 0 ? seg : (cw_slice){seg.ptr, (size_t)colon};
        cw_slice slice = colon < 0 ? (cw_slice){NULL, 0}
                                   : (cw_slice){seg.ptr + colon + 1, seg.len - (size_t)colon - 1};
        cw_slice cid = g->S->v[cur].id;
        cw_slice want = join(g->r->a, cid, '.', name);
        if (!want.ptr) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
        long idx = find_id(g->S, want);
        if (idx < 0 && !has_kids(g->S, (size_t)cur)) {
            if (expand(g, (size_t)cur) < 0) {
                cw_err_at_slice(g->err, id);
                return -1;
            }
            idx = find_id(g->S, want);
        }
        if (idx < 0) {
            /* a type-specific choice name: valueQuantity -> value[x] */
            for (size_t k = 1; k < name.len && idx < 0; k++) {
                if (name.ptr[k] < 'A' || name.ptr[k] > 'Z') continue;
                char *cx =
                    cw_arena_printf(g->r->a, "%.*s.%.*s[x]", CW_SLICE_FMT(cid), (int)k, name.ptr);
                if (!cx) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
                long ci = find_id(g->S, cw_slice_cstr(cx));
                if (ci < 0) continue;
                cw_slice suffix = {name.ptr + k, name.len - k};
                struct eb *ce = &g->S->v[ci];
                long ti = -1;
                for (uint32_t t = 0; t < ce->n_types; t++)
                    if (suffix_is_type(suffix, &ce->types[t])) ti = t;
                if (ti < 0) continue;
                if (ce->n_types == 1) {
                    idx = ci;
                    break;
                }
                /* a type slice of the choice */
                cw_slice sid = join(g->r->a, ce->id, ':', name);
                long si = find_id(g->S, sid);
                if (si < 0) {
                    if (!ce->has_slicing) {
                        struct eb_discr *dd = cw_arena_alloc(g->r->a, sizeof *dd);
                        if (!dd) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
                        dd->type = CW_FHIR_DISCR_TYPE;
                        dd->path = CW_LIT("$this");
                        ce->has_slicing = true;
                        ce->rules = CW_FHIR_SLICING_OPEN;
                        ce->ordered = false;
                        ce->discr = dd;
                        ce->n_discr = 1;
                    }
                    struct eb_type one = ce->types[ti];
                    si = make_slice(g, (size_t)ci, name);
                    if (si < 0) return -1;
                    struct eb_type *nt = cw_arena_alloc(g->r->a, sizeof *nt);
                    if (!nt) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
                    *nt = one;
                    g->S->v[si].types = nt;
                    g->S->v[si].n_types = 1;
                }
                idx = si;
            }
        }
        if (idx < 0) {
            cw_err_set(g->err, CW_ISSUE_NOT_FOUND, "differential element not in the base");
            cw_err_at_slice(g->err, id);
            return -1;
        }
        if (slice.len) {
            cw_slice sid = join(g->r->a, g->S->v[idx].id, ':', slice);
            if (!sid.ptr) return cw_err_set(g->err, CW_ISSUE_TOO_COSTLY, "out of memory");
            long si = find_id(g->S, sid);
            if (si < 0) {
                /* re-slice "a/b": a slice of slice "a" */
                long slash = -1;
                for (size_t q = 0; q < slice.len; q++)
                    if (slice.ptr[q] == '/') slash = (long)q;
                long of = idx;
                if (slash >= 0) {
                    cw_slice parent =
                        join(g->r->a, g->S->v[idx].id, ':', (cw_slice){slice.ptr, (size_t)slash});
                    of = find_id(g->S, parent);
                    if (of < 0) {
                        cw_err_set(g->err, CW_ISSUE_NOT_FOUND, "re-slice of an unknown slice");
                        cw_err_at_slice(g->err, id);
                        return -1;
                    }
                    /* the re-slice id keeps the full name: base:a/b */
                    si = make_slice(
                        g, (size_t)of,
                        (cw_slice){slice.ptr + slash + 1, slice.len - (size_t)slash - 1});
                    if (si < 0) return -1;
                    g->S->v[si].id = sid;
                    g->S->v[si].slice_name = slice;
                    /* children of the re-slice carry the new id prefix */
                    cw_slice made =
                        join(g->r->a, g->S->v[of].id, ':',
                             (cw_slice){slice.ptr + slash + 1, slice.len - (size_t)slash - 1});
                    for (size_t q = (size_t)si + 1; q < g->S->n && under(g->S->v[q].id, made, '.');
                         q++)
                        g->S->v[q].id = reroot(g->r->a, sid, g->S->v[q].id, made.len);
                } else {
                    si = make_slice(g, (size_t)idx, slice);
                    if (si < 0) return -1;
                }
            }
            idx = si;
        }
        cur = idx;
    }
    return cur;
}

static int apply(struct cw_arena *a, struct eb *e, const struct delta *d)
{
    const struct eb *x = &d->e;
    if (!e->orig) {
        struct eb *o = cw_arena_alloc(a, sizeof *o);
        if (!o) return -1;
        *o = *e;
        e->orig = o;
    }
    if (d->min) e->min = x->min;
    if (d->max) e->max = x->max;
    if (d->short_) e->short_ = x->short_;
    if (d->ms)
        e->flags = (e->flags & ~(uint32_t)FD_E_MUST_SUPPORT) | (x->flags & FD_E_MUST_SUPPORT);
    if (d->mod) e->flags = (e->flags & ~(uint32_t)FD_E_MODIFIER) | (x->flags & FD_E_MODIFIER);
    if (d->maxlen) e->max_length = x->max_length;
    if (d->cref) e->cref = x->cref;
    if (d->types) {
        e->types = x->types;
        e->n_types = x->n_types;
    }
    if (x->has_binding) {
        e->has_binding = true;
        e->strength = x->strength;
        e->vs = x->vs;
        e->bname = x->bname.len ? x->bname : e->bname;
    }
    if (x->n_cons) {
        struct eb_cons *nc = cw_arena_array(a, e->n_cons + x->n_cons, sizeof *nc);
        if (!nc) return -1;
        uint32_t n = e->n_cons;
        if (n) memcpy(nc, e->cons, n * sizeof *nc);
        for (uint32_t i = 0; i < x->n_cons; i++) {
            uint32_t k;
            for (k = 0; k < n; k++)
                if (cw_slice_eq(nc[k].key, x->cons[i].key)) break;
            nc[k] = x->cons[i];
            if (k == n) n++;
        }
        e->cons = nc;
        e->n_cons = n;
    }
    if (x->n_vals) {
        struct eb_val *nv = cw_arena_array(a, e->n_vals + x->n_vals, sizeof *nv);
        if (!nv) return -1;
        uint32_t n = e->n_vals;
        if (n) memcpy(nv, e->vals, n * sizeof *nv);
        for (uint32_t i = 0; i < x->n_vals; i++) {
            uint32_t k;
            for (k = 0; k < n; k++)
                if (cw_slice_eq(nv[k].key, x->vals[i].key)) break;
            nv[k] = x->vals[i];
            if (k == n) n++;
        }
        e->vals = nv;
        e->n_vals = n;
    }
    if (d->slicing) {
        if (!e->has_slicing) e->rules = CW_FHIR_SLICING_OPEN;
        e->has_slicing = true;
        if (x->rules) e->rules = x->rules;
        e->ordered = x->ordered;
        if (x->sdesc.len) e->sdesc = x->sdesc;
        if (x->n_discr) {
            e->discr = x->discr;
            e->n_discr = x->n_discr;
        }
    }
    return 0;
}

/* Differential id of a JSON element: its id, else path (+ ":sliceName"). */
static cw_slice diff_id(struct cw_arena *a, const struct cw_json *el)
{
    cw_slice id = jtext(el, "id");
    if (id.len) return id;
    cw_slice path = jtext(el, "path");
    cw_slice sn = jtext(el, "sliceName");
    if (!sn.len) return path;
    return join(a, path, ':', sn);
}

/*
 * The id of a differential element that has only a path (elementdefinition.html#id:
 * the id is the path with the slice names of the slices it sits in). An
 * element without id belongs to the slice its parent path last named: after
 * "Bundle.entry" with sliceName "Patient", "Bundle.entry.resource" is
 * "Bundle.entry:Patient.resource". seen holds (path, id) of the elements
 * before it, latest last.
 */
static cw_slice diff_id_in_context(struct cw_arena *a, const struct cw_json *el,
                                   const cw_slice (*seen)[2], size_t n_seen)
{
    cw_slice id = jtext(el, "id");
    if (id.len) return id;
    cw_slice path = jtext(el, "path");
    size_t dot = path.len;
    while (dot > 0 && path.ptr[dot - 1] != '.') dot--;
    if (dot > 1) {
        cw_slice parent = {path.ptr, dot - 1};
        for (size_t i = n_seen; i-- > 0;)
            if (cw_slice_eq(seen[i][0], parent)) {
                if (!cw_slice_eq(seen[i][1], parent))
                    path = join(a, seen[i][1], '.', (cw_slice){path.ptr + dot, path.len - dot});
                break;
            }
    }
    cw_slice sn = jtext(el, "sliceName");
    if (!sn.len || !path.ptr) return path;
    return join(a, path, ':', sn);
}

/*
 * A differential path that names a choice by a type it does not have
 * ("Observation.valueBla" for value[x]): elementdefinition.html#path, a
 * type-specific name must name one of the choice's types. Checked where
 * the parent path is an element of the snapshot so far (false: fine or
 * not decidable here).
 */
static bool bad_choice_name(struct gen *g, cw_slice path)
{
    size_t dot = path.len;
    while (dot > 0 && path.ptr[dot - 1] != '.') dot--;
    if (dot < 2 || dot >= path.len || find_id(g->S, path) >= 0) return false;
    cw_slice parent = {path.ptr, dot - 1}, name = {path.ptr + dot, path.len - dot};
    if (find_id(g->S, parent) < 0) return false;
    for (size_t k = 1; k < name.len; k++) {
        if (name.ptr[k] < 'A' || name.ptr[k] > 'Z') continue;
        char *cx = cw_arena_printf(g->r->a, "%.*s.%.*s[x]", CW_SLICE_FMT(parent), (int)k, name.ptr);
        long ci = cx ? find_id(g->S, cw_slice_cstr(cx)) : -1;
        if (ci < 0) continue;
        cw_slice suffix = {name.ptr + k, name.len - k};
        const struct eb *ce = &g->S->v[ci];
        for (uint32_t t = 0; t < ce->n_types; t++)
            if (suffix_is_type(suffix, &ce->types[t])) return false;
        return true;
    }
    return false;
}

static int generate(struct cw_fhir_registry *r, struct rsd *d, int depth)
{
    struct ebvec S = {0};
    if (!d->base_url.len)
        return cw_err_set(&d->err, CW_ISSUE_REQUIRED, "no snapshot and no baseDefinition");
    if (snapshot_of(r, d->base_url, depth, &S, &d->err) < 0) return -1;
    const struct cw_json *diff = cw_json_get(cw_json_get(d->json, "differential"), "element");
    if (cw_json_is(diff, CW_JSON_ARRAY) && diff->len > REG_MAX_DIFF) {
        ebvec_free(&S);
        return cw_err_set(&d->err, CW_ISSUE_TOO_COSTLY, "more than %u differential elements",
                          REG_MAX_DIFF);
    }
    struct gen g = {r, &S, depth, &d->err};
    cw_slice(*seen)[2] = NULL; /* (path, id) of the elements so far, for elements without id */
    if (cw_json_is(diff, CW_JSON_ARRAY) && diff->len) {
        seen = cw_arena_array(r->a, diff->len, sizeof *seen);
        if (!seen) {
            ebvec_free(&S);
            return cw_err_set(&d->err, CW_ISSUE_TOO_COSTLY, "out of memory");
        }
    }
    for (uint32_t i = 0; cw_json_is(diff, CW_JSON_ARRAY) && i < diff->len; i++) {
        const struct cw_json *el = &diff->u.items[i];
        struct delta dl;
        if (el_from_json(r->a, el, &dl, &d->err) < 0) goto fail;
        cw_slice id = diff_id_in_context(r->a, el, (const cw_slice(*)[2])seen, i);
        seen[i][0] = jtext(el, "path");
        seen[i][1] = id;
        if (bad_choice_name(&g, jtext(el, "path"))) {
            cw_err_set(&d->err, CW_ISSUE_INVALID,
                       "the path names a choice element by a type it does not have");
            cw_err_at_slice(&d->err, id);
            goto fail;
        }
        if (dl.slicing && id.len && cw_slice_index(id, '.') < 0) {
            /* profiling.html#slicing: slicing applies to repeating elements;
               the root is not one (sdf-20) */
            cw_err_set(&d->err, CW_ISSUE_INVALID, "slicing on the root element");
            goto fail;
        }
        if (!id.ptr || !id.len) {
            cw_err_set(&d->err, CW_ISSUE_REQUIRED, "differential element without id or path");
            goto fail;
        }
        long idx = locate(&g, id);
        if (idx < 0) goto fail;
        if (apply(r->a, &S.v[idx], &dl) < 0) {
            cw_err_set(&d->err, CW_ISSUE_TOO_COSTLY, "out of memory");
            goto fail;
        }
        for (uint32_t t = 0; dl.types && t < dl.e.n_types; t++)
            if (dl.e.types[t].profile_elem.len && dl.e.types[t].n_profiles == 1) {
                if (expand_profile_element(&g, (size_t)idx, &dl.e.types[t]) < 0) goto fail;
                break;
            }
    }
    d->snap = S;
    d->generated = true;
    return 0;
fail:
    ebvec_free(&S);
    return -1;
}

static int from_shipped(struct cw_fhir_registry *r, struct rsd *d)
{
    const struct cw_json *snap = cw_json_get(cw_json_get(d->json, "snapshot"), "element");
    struct ebvec S = {0};
    for (uint32_t i = 0; i < snap->len; i++) {
        struct delta dl;
        if (el_from_json(r->a, &snap->u.items[i], &dl, &d->err) < 0) goto fail;
        dl.e.id = diff_id(r->a, &snap->u.items[i]);
        if (!dl.e.id.len) {
            cw_err_set(&d->err, CW_ISSUE_REQUIRED, "snapshot element without id or path");
            goto fail;
        }
        if (!dl.max) dl.e.max = FD_MAX_STAR;
        if (ebvec_insert(&S, S.n, &dl.e, 1) < 0) {
            cw_err_set(&d->err, CW_ISSUE_TOO_COSTLY, "too many elements");
            goto fail;
        }
    }
    d->snap = S;
    return 0;
fail:
    ebvec_free(&S);
    return -1;
}

static int ensure_snapshot(struct cw_fhir_registry *r, size_t k, int depth)
{
    struct rsd *d = &r->sds[k];
    if (d->state == RS_DONE) return 0;
    if (d->state == RS_FAILED) return -1;
    if (d->state == RS_WORKING || depth > REG_MAX_DEPTH) {
        cw_err_set(&d->err, CW_ISSUE_INVALID, "circular or too deep baseDefinition/profile chain");
        return -1;
    }
    d->state = RS_WORKING;
    cw_err_clear(&d->err);
    const struct cw_json *snap = cw_json_get(cw_json_get(d->json, "snapshot"), "element");
    int rc =
        cw_json_is(snap, CW_JSON_ARRAY) && snap->len ? from_shipped(r, d) : generate(r, d, depth);
    d = &r->sds[k];
    d->state = rc == 0 ? RS_DONE : RS_FAILED;
    return rc;
}

/* ---- compilation into a set ---- */

struct vec {
    void *p;
    size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void *np = realloc(v->p, cap * v->size);
        if (!np) return NULL;
        v->p = np;
        v->cap = cap;
    }
    void *slot = (char *)v->p + v->n * v->size;
    memset(slot, 0, v->size);
    v->n++;
    return slot;
}

struct builder {
    struct cw_buf pool;
    struct smap pmap;
    struct vec u32, sds, elems, trefs, extras, cons, bindings;
    bool oom;
};

static fd_str b_str(struct builder *b, cw_slice s)
{
    if (!s.len) return 0;
    uint32_t o = smap_get(&b->pmap, s);
    if (o != FD_NONE) return o;
    if (b->pool.len + s.len + 1 >= UINT32_MAX) {
        b->oom = true;
        return 0;
    }
    o = (uint32_t)b->pool.len;
    cw_buf_append(&b->pool, s.ptr, s.len);
    cw_buf_putc(&b->pool, '\0');
    /* the key must stay valid while the pool grows: store it in the map as a
       copy owned by the map's lifetime (the pool may move) */
    char *k = malloc(s.len ? s.len : 1);
    if (!k || cw_buf_failed(&b->pool)) {
        free(k);
        b->oom = true;
        return 0;
    }
    memcpy(k, s.ptr, s.len);
    if (smap_put(&b->pmap, (cw_slice){k, s.len}, o) != 0) {
        free(k);
        b->oom = true;
    }
    return o;
}

static fd_list b_list(struct builder *b, const uint32_t *items, uint32_t n)
{
    if (!n) return FD_NONE;
    fd_list o = (fd_list)b->u32.n;
    uint32_t *c = vec_push(&b->u32);
    if (!c) goto oom;
    *c = n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t *p = vec_push(&b->u32);
        if (!p) goto oom;
        *p = items[i];
    }
    return o;
oom:
    b->oom = true;
    return FD_NONE;
}

/* Path from id: drop ":slice" parts of every segment. */
static cw_slice id_to_path(struct cw_arena *a, cw_slice id)
{
    char *p = cw_arena_alloc_bytes(a, id.len + 1);
    if (!p) return (cw_slice){NULL, 0};
    size_t n = 0;
    bool skip = false;
    for (size_t i = 0; i < id.len; i++) {
        char c = id.ptr[i];
        if (c == '.')
            skip = false;
        else if (c == ':')
            skip = true;
        if (!skip) p[n++] = c;
    }
    p[n] = '\0';
    return (cw_slice){p, n};
}

static uint32_t kind_of(cw_slice k)
{
    if (cw_slice_eq_cstr(k, "primitive-type")) return CW_FHIR_KIND_PRIMITIVE;
    if (cw_slice_eq_cstr(k, "complex-type")) return CW_FHIR_KIND_COMPLEX;
    if (cw_slice_eq_cstr(k, "resource")) return CW_FHIR_KIND_RESOURCE;
    return CW_FHIR_KIND_LOGICAL;
}

static uint32_t system_type(const struct eb_type *t)
{
    static const struct {
        const char *sys, *fhir;
    } map[] = {
        {"String", "string"},   {"Boolean", "boolean"}, {"Integer", "integer"},
        {"Decimal", "decimal"}, {"Date", "date"},       {"DateTime", "dateTime"},
        {"Time", "time"},
    };
    cw_slice name = t->fhir_type;
    if (!name.len) {
        cw_slice rest = {t->code.ptr + SYSTEM_PREFIX.len, t->code.len - SYSTEM_PREFIX.len};
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (cw_slice_eq_cstr(rest, map[i].sys)) name = cw_slice_cstr(map[i].fhir);
    }
    struct cw_fhir_sd sd = cw_fhir_type(name);
    return sd.set ? sd.i : FD_NONE;
}

static int compile_sd(struct cw_fhir_registry *r, struct builder *b, struct rsd *d, uint32_t sdi,
                      struct cw_err *err)
{
    const struct ebvec *S = &d->snap;
    uint32_t first = (uint32_t)b->elems.n;
    struct smap ids = {0};
    uint32_t *parent = calloc(S->n + 1, sizeof *parent);
    uint32_t *sliceof = calloc(S->n + 1, sizeof *sliceof);
    uint32_t *tmp = calloc(S->n + 1, sizeof *tmp);
    int rc = -1;
    if (!parent || !sliceof || !tmp) goto oom;
    for (size_t k = 0; k < S->n; k++) {
        int put = smap_put(&ids, S->v[k].id, (uint32_t)k);
        if (put < 0) goto oom;
        if (put == 1) {
            cw_err_set(err, CW_ISSUE_DUPLICATE, "two snapshot elements with one id");
            cw_err_at_slice(err, S->v[k].id);
            goto out;
        }
    }
    for (size_t k = 0; k < S->n; k++) {
        cw_slice id = S->v[k].id;
        parent[k] = sliceof[k] = FD_NONE;
        long dot = -1;
        for (size_t q = 0; q < id.len; q++)
            if (id.ptr[q] == '.') dot = (long)q;
        if (dot >= 0) {
            parent[k] = smap_get(&ids, (cw_slice){id.ptr, (size_t)dot});
            if (parent[k] == FD_NONE) {
                cw_err_set(err, CW_ISSUE_STRUCTURE, "snapshot element whose parent is missing");
                cw_err_at_slice(err, id);
                goto out;
            }
        }
        cw_slice last = {id.ptr + dot + 1, id.len - (size_t)(dot + 1)};
        long colon = cw_slice_index(last, ':');
        if (colon >= 0) {
            cw_slice sn = {last.ptr + colon + 1, last.len - (size_t)colon - 1};
            long slash = -1;
            for (size_t q = 0; q < sn.len; q++)
                if (sn.ptr[q] == '/') slash = (long)q;
            size_t cut = slash >= 0 ? (size_t)(sn.ptr - id.ptr) + (size_t)slash
                                    : (size_t)(last.ptr - id.ptr) + (size_t)colon;
            sliceof[k] = smap_get(&ids, (cw_slice){id.ptr, cut});
            /* a slice of an absent element is kept as a plain element (as the
               generator does for the core tables) */
        }
    }
    for (size_t k = 0; k < S->n; k++) {
        const struct eb *e = &S->v[k];
        struct fd_elem *fe = vec_push(&b->elems);
        if (!fe) goto oom;
        cw_slice path = id_to_path(r->a, e->id);
        if (!path.ptr) goto oom;
        long dot = -1;
        for (size_t q = 0; q < path.len; q++)
            if (path.ptr[q] == '.') dot = (long)q;
        cw_slice name = {path.ptr + dot + 1, path.len - (size_t)(dot + 1)};
        uint32_t flags = e->flags;
        if (name.len > 3 && memcmp(name.ptr + name.len - 3, "[x]", 3) == 0) {
            flags |= FD_E_CHOICE;
            name.len -= 3;
        }
        if (name.len > 255) {
            cw_err_set(err, CW_ISSUE_TOO_LONG, "element name too long");
            goto out;
        }
        if (sliceof[k] != FD_NONE) flags |= FD_E_SLICE;
        fe->id = b_str(b, e->id);
        fe->path = b_str(b, path);
        fe->name = b_str(b, name);
        fe->name_len = (uint8_t)name.len;
        fe->min = e->min;
        fe->max = e->max;
        fe->parent = parent[k] == FD_NONE ? FD_NONE : first + parent[k];
        fe->kids = fe->slices = FD_NONE;
        fe->sd = (uint16_t)sdi;
        /* types */
        fe->trefs = (uint32_t)b->trefs.n;
        fe->n_trefs = (uint16_t)e->n_types;
        for (uint32_t t = 0; t < e->n_types; t++) {
            const struct eb_type *et = &e->types[t];
            struct fd_tref *tr = vec_push(&b->trefs);
            if (!tr) goto oom;
            tr->code = b_str(b, et->code);
            tr->flags = et->flags;
            if (cw_slice_starts_with(et->code, SYSTEM_PREFIX)) {
                tr->flags |= FD_T_SYSTEM;
                tr->sd = system_type(et);
            } else {
                struct cw_fhir_sd ts = cw_fhir_type(et->code);
                tr->sd = ts.set ? ts.i : FD_NONE;
            }
            uint32_t nl = et->n_profiles > et->n_targets ? et->n_profiles : et->n_targets;
            uint32_t *l = malloc((nl + 1) * sizeof *l);
            if (!l) goto oom;
            for (uint32_t q = 0; q < et->n_profiles; q++) l[q] = b_str(b, et->profiles[q]);
            tr->profiles = b_list(b, l, et->n_profiles);
            for (uint32_t q = 0; q < et->n_targets; q++) l[q] = b_str(b, et->targets[q]);
            tr->targets = b_list(b, l, et->n_targets);
            free(l);
        }
        /* constraints */
        if (e->n_cons) {
            uint32_t *l = malloc(e->n_cons * sizeof *l);
            if (!l) goto oom;
            for (uint32_t c = 0; c < e->n_cons; c++) {
                struct fd_cons *fc = vec_push(&b->cons);
                if (!fc) {
                    free(l);
                    goto oom;
                }
                fc->key = b_str(b, e->cons[c].key);
                fc->human = b_str(b, e->cons[c].human);
                fc->expression = b_str(b, e->cons[c].expr);
                fc->source = b_str(b, e->cons[c].source);
                fc->severity = e->cons[c].severity;
                l[c] = (uint32_t)b->cons.n - 1;
            }
            fe->cons = b_list(b, l, e->n_cons);
            free(l);
        } else {
            fe->cons = FD_NONE;
        }
        fe->binding = FD_NONE;
        if (e->has_binding) {
            struct fd_binding *fb = vec_push(&b->bindings);
            if (!fb) goto oom;
            fb->value_set = b_str(b, e->vs);
            fb->name = b_str(b, e->bname);
            fb->strength = e->strength;
            fe->binding = (uint32_t)b->bindings.n - 1;
        }
        fe->cref = FD_NONE;
        if (e->cref.len) {
            cw_slice t = e->cref;
            long h = cw_slice_index(t, '#');
            if (h >= 0) t = (cw_slice){t.ptr + h + 1, t.len - (size_t)h - 1};
            uint32_t ti = smap_get(&ids, t);
            if (ti != FD_NONE) fe->cref = first + ti;
        }
        fe->extra = FD_NONE;
        if (e->slice_name.len || e->n_vals || e->has_slicing || e->max_length || e->short_.len) {
            struct fd_extra *x = vec_push(&b->extras);
            if (!x) goto oom;
            x->slice_name = b_str(b, e->slice_name);
            x->max_length = e->max_length;
            x->short_ = b_str(b, e->short_);
            x->values = x->slicing = FD_NONE;
            if (e->n_vals) {
                uint32_t *l = malloc(2 * e->n_vals * sizeof *l);
                if (!l) goto oom;
                for (uint32_t v = 0; v < e->n_vals; v++) {
                    l[2 * v] = b_str(b, e->vals[v].key);
                    l[2 * v + 1] = b_str(b, e->vals[v].json);
                    if (cw_slice_starts_with(e->vals[v].key, CW_LIT("fixed")))
                        flags |= FD_E_HAS_FIXED;
                    if (cw_slice_starts_with(e->vals[v].key, CW_LIT("pattern")))
                        flags |= FD_E_HAS_PATTERN;
                }
                x->values = b_list(b, l, 2 * e->n_vals);
                free(l);
            }
            if (e->has_slicing) {
                uint32_t *l = malloc((3 + 2 * e->n_discr) * sizeof *l);
                if (!l) goto oom;
                l[0] = e->rules ? e->rules : CW_FHIR_SLICING_OPEN;
                l[1] = e->ordered;
                l[2] = b_str(b, e->sdesc);
                for (uint32_t q = 0; q < e->n_discr; q++) {
                    l[3 + 2 * q] = e->discr[q].type;
                    l[4 + 2 * q] = b_str(b, e->discr[q].path);
                }
                x->slicing = b_list(b, l, 3 + 2 * e->n_discr);
                free(l);
            }
            fe->extra = (uint32_t)b->extras.n - 1;
        }
        fe->flags = (uint16_t)flags;
    }
    /* kids and slices lists, definition order */
    for (size_t k = 0; k < S->n; k++) {
        uint32_t nk = 0, ns = 0;
        for (size_t j = k + 1; j < S->n; j++) {
            if (sliceof[j] == k) continue;
            if (parent[j] == k && sliceof[j] == FD_NONE) {
                ((struct fd_elem *)b->elems.p)[first + j].order = (uint16_t)nk;
                tmp[nk++] = first + (uint32_t)j;
            }
        }
        struct fd_elem *fe = (struct fd_elem *)b->elems.p + first + k;
        fe->kids = b_list(b, tmp, nk);
        for (size_t j = k + 1; j < S->n; j++)
            if (sliceof[j] == k) tmp[ns++] = first + (uint32_t)j;
        fe = (struct fd_elem *)b->elems.p + first + k;
        fe->slices = b_list(b, tmp, ns);
    }
    /* the SD record */
    struct fd_sd *sd = vec_push(&b->sds);
    if (!sd) goto oom;
    sd->name = b_str(b, d->name);
    sd->url = b_str(b, d->url);
    sd->type = b_str(b, d->type);
    sd->base = b_str(b, d->base_url);
    sd->version = b_str(b, d->version);
    sd->elem_first = first;
    sd->elem_count = (uint32_t)S->n;
    sd->kind = (uint8_t)kind_of(d->kind);
    struct cw_fhir_sd ts = cw_fhir_type(d->type);
    sd->type_sd = ts.set ? ts.i : FD_NONE;
    sd->base_sd = FD_NONE;
    sd->json = (uint8_t)cw_fhir_sd_json_kind(ts);
    sd->flags = (d->abstract ? FD_SD_ABSTRACT : 0) |
                (cw_slice_eq_cstr(d->derivation, "constraint") ? FD_SD_CONSTRAINT : 0) |
                (d->generated ? FD_SD_SNAPSHOT_GEN : 0);
    /* contexts, then each contextInvariant as a pair ("invariant", expression) */
    const struct cw_json *ctx = cw_json_get(d->json, "context");
    const struct cw_json *cinv = cw_json_get(d->json, "contextInvariant");
    uint32_t nctx = cw_json_is(ctx, CW_JSON_ARRAY) ? ctx->len : 0;
    uint32_t ninv = cw_json_is(cinv, CW_JSON_ARRAY) ? cinv->len : 0;
    if (nctx + ninv) {
        uint32_t *l = malloc(2 * (size_t)(nctx + ninv) * sizeof *l);
        if (!l) goto oom;
        for (uint32_t c = 0; c < nctx; c++) {
            l[2 * c] = b_str(b, jtext(&ctx->u.items[c], "type"));
            l[2 * c + 1] = b_str(b, jtext(&ctx->u.items[c], "expression"));
        }
        for (uint32_t c = 0; c < ninv; c++) {
            l[2 * (nctx + c)] = b_str(b, CW_LIT("invariant"));
            l[2 * (nctx + c) + 1] = b_str(b, cw_json_is(&cinv->u.items[c], CW_JSON_STRING)
                                                 ? cw_json_text(&cinv->u.items[c])
                                                 : CW_SLICE_NULL);
        }
        nctx += ninv;
        sd->contexts = b_list(b, l, 2 * nctx);
        free(l);
    } else {
        sd->contexts = FD_NONE;
    }
    rc = b->oom ? -1 : 0;
    if (rc) cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    goto out;
oom:
    cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
out:
    free(parent);
    free(sliceof);
    free(tmp);
    smap_free(&ids);
    return rc;
}

static int cmp_sd_url(const void *x, const void *y, void *ctx)
{
    const struct cw_fhir_set *s = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return fhir_keycmp(fhir_str(s, s->sds[a].url), fhir_cstr(s, s->sds[b].url));
}

static void *arena_copy(struct cw_arena *a, const struct vec *v)
{
    void *p = cw_arena_alloc(a, v->n * v->size + 1);
    if (p && v->n) memcpy(p, v->p, v->n * v->size);
    return p;
}

static void builder_free(struct builder *b)
{
    cw_buf_release(&b->pool);
    for (size_t i = 0; i < b->pmap.cap; i++) free((void *)b->pmap.keys[i].ptr);
    smap_free(&b->pmap);
    free(b->u32.p);
    free(b->sds.p);
    free(b->elems.p);
    free(b->trefs.p);
    free(b->extras.p);
    free(b->cons.p);
    free(b->bindings.p);
}

int cw_fhir_registry_build(struct cw_fhir_registry *r,
                           void (*report)(cw_slice url, const struct cw_err *err, void *ctx),
                           void *ctx)
{
    if (r->built) return 0;
    r->built = true;
    int failed = 0;
    for (size_t k = 0; k < r->n; k++) ensure_snapshot(r, k, 0);

    struct builder b = {0};
    cw_buf_init(&b.pool, (size_t)1 << 31);
    cw_buf_putc(&b.pool, '\0');
    b.u32.size = sizeof(uint32_t);
    b.sds.size = sizeof(struct fd_sd);
    b.elems.size = sizeof(struct fd_elem);
    b.trefs.size = sizeof(struct fd_tref);
    b.extras.size = sizeof(struct fd_extra);
    b.cons.size = sizeof(struct fd_cons);
    b.bindings.size = sizeof(struct fd_binding);
    uint32_t nsd = 0;
    for (size_t k = 0; k < r->n; k++) {
        struct rsd *d = &r->sds[k];
        if (d->state == RS_DONE) {
            size_t elems_before = b.elems.n, trefs_before = b.trefs.n, extras_before = b.extras.n,
                   cons_before = b.cons.n, bind_before = b.bindings.n, sds_before = b.sds.n;
            if (nsd < 0xFFFF && compile_sd(r, &b, d, nsd, &d->err) == 0) {
                d->set_index = nsd++;
            } else {
                if (nsd >= 0xFFFF) cw_err_set(&d->err, CW_ISSUE_TOO_COSTLY, "too many profiles");
                d->state = RS_FAILED;
                b.elems.n = elems_before;
                b.trefs.n = trefs_before;
                b.extras.n = extras_before;
                b.cons.n = cons_before;
                b.bindings.n = bind_before;
                b.sds.n = sds_before;
                b.oom = false;
            }
        }
        if (d->state != RS_DONE) {
            failed++;
            if (!d->err.location[0]) cw_err_at_slice(&d->err, d->url);
            if (report) report(d->url, &d->err, ctx);
        }
    }
    /* the set */
    struct cw_fhir_set *s = cw_arena_zalloc(r->a, sizeof *s);
    if (!s || cw_buf_failed(&b.pool)) {
        builder_free(&b);
        return (int)r->n;
    }
    s->pool = cw_arena_strndup(r->a, b.pool.ptr, b.pool.len);
    s->pool_len = (uint32_t)b.pool.len;
    s->sds = arena_copy(r->a, &b.sds);
    s->n_sds = (uint32_t)b.sds.n;
    s->elems = arena_copy(r->a, &b.elems);
    s->n_elems = (uint32_t)b.elems.n;
    s->trefs = arena_copy(r->a, &b.trefs);
    s->n_trefs = (uint32_t)b.trefs.n;
    s->extras = arena_copy(r->a, &b.extras);
    s->n_extras = (uint32_t)b.extras.n;
    s->cons = arena_copy(r->a, &b.cons);
    s->n_cons = (uint32_t)b.cons.n;
    s->bindings = arena_copy(r->a, &b.bindings);
    s->n_bindings = (uint32_t)b.bindings.n;
    /* sorted URL list appended to the u32 area */
    uint32_t *order = malloc((s->n_sds + 1) * sizeof *order);
    if (order) {
        for (uint32_t i = 0; i < s->n_sds; i++) order[i] = i;
        s->pool = s->pool ? s->pool : "";
        qsort_r(order, s->n_sds, sizeof *order, cmp_sd_url, s);
        s->sd_by_url = b_list(&b, order, s->n_sds);
        free(order);
    } else {
        s->sd_by_url = FD_NONE;
    }
    s->u32 = arena_copy(r->a, &b.u32);
    s->n_u32 = (uint32_t)b.u32.n;
    s->types_by_name = s->sp_by_url = s->vs_by_url = s->cs_by_url = s->cm_by_url = FD_NONE;
    s->source = "registry";
    s->reg = r;
    /* base definitions inside the registry */
    builder_free(&b);
    if (!s->pool || !s->sds || !s->elems || !s->u32) return (int)r->n;
    r->set = s;
    for (uint32_t i = 0; i < s->n_sds; i++) {
        struct fd_sd *sd = (struct fd_sd *)&s->sds[i];
        uint32_t k = smap_get(&r->by_url, fhir_canonical_url(fhir_str(s, sd->base)));
        if (k != FD_NONE && r->sds[k].set_index != FD_NONE) sd->base_sd = r->sds[k].set_index;
    }
    for (size_t k = 0; k < r->n; k++) ebvec_free(&r->sds[k].snap);
    return failed;
}

size_t cw_fhir_registry_count(const struct cw_fhir_registry *r)
{
    return r && r->set ? r->set->n_sds : 0;
}

struct cw_fhir_sd cw_fhir_registry_at(const struct cw_fhir_registry *r, size_t i)
{
    if (!r || !r->set || i >= r->set->n_sds) return CW_FHIR_NONE_SD;
    return (struct cw_fhir_sd){r->set, (uint32_t)i};
}
