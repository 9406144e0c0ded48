/*
 * fhir_defs.c — lookups over compiled definition sets: structure
 * definitions, types, element definitions, and the resolution of JSON
 * property names to elements (json.html: choice names, "_name").
 *
 * Owns: nothing. Every function reads static tables (the core set) or a
 * registry's read-only sets; all are thread-safe.
 *
 * Invariants: handles are validated before use (a none handle gives empty
 * answers, never a crash); loops over definition chains are bounded
 * (FHIR_CHAIN_MAX) so a malformed profile cycle cannot hang a caller.
 */
#include <ctype.h>
#include <string.h>

#include "fhir/fhir_int.h"

#define FHIR_CHAIN_MAX 64

uint32_t fhir_bsearch(const struct cw_fhir_set *s, fd_list sorted, cw_slice key,
                      fd_str (*key_of)(const struct cw_fhir_set *, uint32_t))
{
    /* the set's own lookup lists (not the many per-code-system concept lists) */
    if (s == &cw_fhir_base_set &&
        (sorted == s->types_by_name || sorted == s->sd_by_url || sorted == s->vs_by_url ||
         sorted == s->cs_by_url || sorted == s->sp_by_url || sorted == s->cm_by_url)) {
        uint32_t i = fhir_index_sorted(sorted, key, key_of);
        if (i != FHIR_INDEX_NOINDEX) return i;
    }
    return fhir_bsearch_raw(s, sorted, key, key_of);
}

uint32_t fhir_bsearch_raw(const struct cw_fhir_set *s, fd_list sorted, cw_slice key,
                          fd_str (*key_of)(const struct cw_fhir_set *, uint32_t))
{
    uint32_t n = fhir_list_len(s, sorted);
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t rec = fhir_list_at(s, sorted, mid);
        int c = fhir_keycmp(key, fhir_cstr(s, key_of(s, rec)));
        if (c == 0) return rec;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return FD_NONE;
}

cw_slice fhir_canonical_url(cw_slice url)
{
    for (size_t i = 0; i < url.len; i++)
        if (url.ptr[i] == '|') return (cw_slice){url.ptr, i};
    return url;
}

/* ---- structure definitions ---- */

static fd_str sd_url_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->sds[i].url;
}
static fd_str sd_type_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->sds[i].type;
}

struct cw_fhir_sd cw_fhir_type(cw_slice name)
{
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    uint32_t i = fhir_bsearch(s, s->types_by_name, name, sd_type_key);
    return i == FD_NONE ? CW_FHIR_NONE_SD : (struct cw_fhir_sd){s, i};
}

struct cw_fhir_sd cw_fhir_type_cstr(const char *name)
{
    return cw_fhir_type(cw_slice_cstr(name));
}

static struct cw_fhir_sd sd_in_set(const struct cw_fhir_set *s, cw_slice url)
{
    uint32_t i = fhir_bsearch(s, s->sd_by_url, url, sd_url_key);
    return i == FD_NONE ? CW_FHIR_NONE_SD : (struct cw_fhir_sd){s, i};
}

struct cw_fhir_sd cw_fhir_sd_by_url(const struct cw_fhir_registry *reg, cw_slice url)
{
    url = fhir_canonical_url(url);
    if (reg) {
        size_t n = fhir_registry_nsets(reg);
        for (size_t k = 0; k < n; k++) {
            struct cw_fhir_sd sd = sd_in_set(fhir_registry_set(reg, k), url);
            if (cw_fhir_sd_ok(sd)) return sd;
        }
    }
    return sd_in_set(&cw_fhir_base_set, url);
}

size_t cw_fhir_core_sd_count(void)
{
    return cw_fhir_base_set.n_sds;
}

struct cw_fhir_sd cw_fhir_core_sd_at(size_t i)
{
    return i < cw_fhir_base_set.n_sds ? (struct cw_fhir_sd){&cw_fhir_base_set, (uint32_t)i}
                                      : CW_FHIR_NONE_SD;
}

#define SD_STR(fn, field)                                                                          \
    cw_slice fn(struct cw_fhir_sd sd)                                                              \
    {                                                                                              \
        if (!sd.set) return (cw_slice){"", 0};                                                     \
        return fhir_str(sd.set, fhir_sd_rec(sd)->field);                                           \
    }
SD_STR(cw_fhir_sd_name, name)
SD_STR(cw_fhir_sd_url, url)
SD_STR(cw_fhir_sd_type_name, type)
SD_STR(cw_fhir_sd_base_url, base)
SD_STR(cw_fhir_sd_version, version)
SD_STR(cw_fhir_sd_regex, regex)

enum cw_fhir_kind cw_fhir_sd_kind(struct cw_fhir_sd sd)
{
    return sd.set ? (enum cw_fhir_kind)fhir_sd_rec(sd)->kind : (enum cw_fhir_kind)0;
}

bool cw_fhir_sd_abstract(struct cw_fhir_sd sd)
{
    return sd.set && (fhir_sd_rec(sd)->flags & FD_SD_ABSTRACT);
}

bool cw_fhir_sd_is_profile(struct cw_fhir_sd sd)
{
    return sd.set && (fhir_sd_rec(sd)->flags & FD_SD_CONSTRAINT);
}

bool cw_fhir_sd_snapshot_generated(struct cw_fhir_sd sd)
{
    return sd.set && (fhir_sd_rec(sd)->flags & FD_SD_SNAPSHOT_GEN);
}

enum cw_fhir_json_kind cw_fhir_sd_json_kind(struct cw_fhir_sd sd)
{
    return sd.set ? (enum cw_fhir_json_kind)fhir_sd_rec(sd)->json : CW_FHIR_JSON_OBJECT;
}

struct cw_fhir_sd cw_fhir_sd_type(struct cw_fhir_sd sd)
{
    if (!sd.set) return CW_FHIR_NONE_SD;
    uint32_t t = fhir_sd_rec(sd)->type_sd;
    if (sd.set != &cw_fhir_base_set && t == FD_NONE) {
        /* registry logical models define their own type */
        return sd;
    }
    return fhir_base_sd(t);
}

struct cw_fhir_sd fhir_sd_resolve_base(struct cw_fhir_sd sd)
{
    const struct fd_sd *r = fhir_sd_rec(sd);
    if (r->base_sd != FD_NONE) return (struct cw_fhir_sd){sd.set, r->base_sd};
    if (!r->base) return CW_FHIR_NONE_SD;
    cw_slice url = fhir_str(sd.set, r->base);
    return cw_fhir_sd_by_url(sd.set->reg, url);
}

struct cw_fhir_sd cw_fhir_sd_base(struct cw_fhir_sd sd)
{
    if (!sd.set) return CW_FHIR_NONE_SD;
    return fhir_sd_resolve_base(sd);
}

bool cw_fhir_type_is_a(struct cw_fhir_sd t, struct cw_fhir_sd ancestor)
{
    t = cw_fhir_sd_type(t);
    ancestor = cw_fhir_sd_type(ancestor);
    if (!t.set || !ancestor.set) return false;
    for (int k = 0; k < FHIR_CHAIN_MAX && t.set; k++) {
        if (cw_fhir_sd_eq(t, ancestor)) return true;
        t = cw_fhir_sd_base(t);
    }
    return false;
}

size_t cw_fhir_sd_context_count(struct cw_fhir_sd sd)
{
    return sd.set ? fhir_list_len(sd.set, fhir_sd_rec(sd)->contexts) / 2 : 0;
}

int cw_fhir_sd_context(struct cw_fhir_sd sd, size_t i, cw_slice *type, cw_slice *expression)
{
    if (i >= cw_fhir_sd_context_count(sd)) return -1;
    fd_list l = fhir_sd_rec(sd)->contexts;
    if (type) *type = fhir_str(sd.set, fhir_list_at(sd.set, l, (uint32_t)(2 * i)));
    if (expression) *expression = fhir_str(sd.set, fhir_list_at(sd.set, l, (uint32_t)(2 * i + 1)));
    return 0;
}

/* ---- elements ---- */

static inline struct cw_fhir_elem elem_at(const struct cw_fhir_set *s, uint32_t i)
{
    return i < s->n_elems ? (struct cw_fhir_elem){s, i} : CW_FHIR_NONE_ELEM;
}

struct cw_fhir_elem cw_fhir_sd_root(struct cw_fhir_sd sd)
{
    if (!sd.set || fhir_sd_rec(sd)->elem_count == 0) return CW_FHIR_NONE_ELEM;
    return elem_at(sd.set, fhir_sd_rec(sd)->elem_first);
}

size_t cw_fhir_sd_elem_count(struct cw_fhir_sd sd)
{
    return sd.set ? fhir_sd_rec(sd)->elem_count : 0;
}

struct cw_fhir_elem cw_fhir_sd_elem_at(struct cw_fhir_sd sd, size_t i)
{
    if (i >= cw_fhir_sd_elem_count(sd)) return CW_FHIR_NONE_ELEM;
    return elem_at(sd.set, fhir_sd_rec(sd)->elem_first + (uint32_t)i);
}

struct cw_fhir_elem cw_fhir_elem_by_id(struct cw_fhir_sd sd, cw_slice id)
{
    if (!sd.set) return CW_FHIR_NONE_ELEM;
    const struct fd_sd *r = fhir_sd_rec(sd);
    for (uint32_t k = 0; k < r->elem_count; k++) {
        const struct fd_elem *e = &sd.set->elems[r->elem_first + k];
        if (fhir_keycmp(id, fhir_cstr(sd.set, e->id)) == 0)
            return elem_at(sd.set, r->elem_first + k);
    }
    return CW_FHIR_NONE_ELEM;
}

struct cw_fhir_sd cw_fhir_elem_sd(struct cw_fhir_elem e)
{
    if (!e.set) return CW_FHIR_NONE_SD;
    return (struct cw_fhir_sd){e.set, fhir_elem_rec(e)->sd};
}

cw_slice cw_fhir_elem_id(struct cw_fhir_elem e)
{
    return e.set ? fhir_str(e.set, fhir_elem_rec(e)->id) : (cw_slice){"", 0};
}

cw_slice cw_fhir_elem_path(struct cw_fhir_elem e)
{
    return e.set ? fhir_str(e.set, fhir_elem_rec(e)->path) : (cw_slice){"", 0};
}

cw_slice cw_fhir_elem_name(struct cw_fhir_elem e)
{
    if (!e.set) return (cw_slice){"", 0};
    const struct fd_elem *r = fhir_elem_rec(e);
    return (cw_slice){fhir_cstr(e.set, r->name), r->name_len};
}

static const struct fd_extra *elem_extra(struct cw_fhir_elem e)
{
    if (!e.set) return NULL;
    uint32_t x = fhir_elem_rec(e)->extra;
    return x < e.set->n_extras ? &e.set->extras[x] : NULL;
}

cw_slice cw_fhir_elem_slice_name(struct cw_fhir_elem e)
{
    const struct fd_extra *x = elem_extra(e);
    return x ? fhir_str(e.set, x->slice_name) : (cw_slice){"", 0};
}

uint32_t cw_fhir_elem_min(struct cw_fhir_elem e)
{
    return e.set ? fhir_elem_rec(e)->min : 0;
}

uint32_t cw_fhir_elem_max(struct cw_fhir_elem e)
{
    return e.set ? fhir_elem_rec(e)->max : 0;
}

unsigned cw_fhir_elem_flags(struct cw_fhir_elem e)
{
    return e.set ? fhir_elem_rec(e)->flags : 0;
}

uint32_t cw_fhir_elem_max_length(struct cw_fhir_elem e)
{
    const struct fd_extra *x = elem_extra(e);
    return x ? x->max_length : 0;
}

struct cw_fhir_elem cw_fhir_elem_parent(struct cw_fhir_elem e)
{
    return e.set ? elem_at(e.set, fhir_elem_rec(e)->parent) : CW_FHIR_NONE_ELEM;
}

size_t cw_fhir_elem_child_count(struct cw_fhir_elem e)
{
    return e.set ? fhir_list_len(e.set, fhir_elem_rec(e)->kids) : 0;
}

struct cw_fhir_elem cw_fhir_elem_child_at(struct cw_fhir_elem e, size_t k)
{
    if (k >= cw_fhir_elem_child_count(e)) return CW_FHIR_NONE_ELEM;
    return elem_at(e.set, fhir_list_at(e.set, fhir_elem_rec(e)->kids, (uint32_t)k));
}

uint32_t cw_fhir_elem_order(struct cw_fhir_elem e)
{
    return e.set ? fhir_elem_rec(e)->order : 0;
}

size_t cw_fhir_elem_slice_count(struct cw_fhir_elem e)
{
    return e.set ? fhir_list_len(e.set, fhir_elem_rec(e)->slices) : 0;
}

struct cw_fhir_elem cw_fhir_elem_slice_at(struct cw_fhir_elem e, size_t k)
{
    if (k >= cw_fhir_elem_slice_count(e)) return CW_FHIR_NONE_ELEM;
    return elem_at(e.set, fhir_list_at(e.set, fhir_elem_rec(e)->slices, (uint32_t)k));
}

struct cw_fhir_elem cw_fhir_elem_content_ref(struct cw_fhir_elem e)
{
    return e.set ? elem_at(e.set, fhir_elem_rec(e)->cref) : CW_FHIR_NONE_ELEM;
}

size_t cw_fhir_elem_type_count(struct cw_fhir_elem e)
{
    return e.set ? fhir_elem_rec(e)->n_trefs : 0;
}

static const struct fd_tref *elem_tref(struct cw_fhir_elem e, size_t i)
{
    if (!e.set) return NULL;
    const struct fd_elem *r = fhir_elem_rec(e);
    if (i >= r->n_trefs || r->trefs + i >= e.set->n_trefs) return NULL;
    return &e.set->trefs[r->trefs + i];
}

int cw_fhir_elem_type(struct cw_fhir_elem e, size_t i, struct cw_fhir_typeref *out)
{
    const struct fd_tref *t = elem_tref(e, i);
    if (!t) return -1;
    out->type = fhir_base_sd(t->sd);
    out->code = fhir_str(e.set, t->code);
    out->system = (t->flags & FD_T_SYSTEM) != 0;
    out->aggregation = t->flags & (FD_T_AGG_CONTAINED | FD_T_AGG_REFERENCED | FD_T_AGG_BUNDLED);
    out->n_profiles = fhir_list_len(e.set, t->profiles);
    out->n_targets = fhir_list_len(e.set, t->targets);
    return 0;
}

cw_slice cw_fhir_elem_type_profile(struct cw_fhir_elem e, size_t i, size_t k)
{
    const struct fd_tref *t = elem_tref(e, i);
    if (!t || k >= fhir_list_len(e.set, t->profiles)) return (cw_slice){"", 0};
    return fhir_str(e.set, fhir_list_at(e.set, t->profiles, (uint32_t)k));
}

cw_slice cw_fhir_elem_type_target(struct cw_fhir_elem e, size_t i, size_t k)
{
    const struct fd_tref *t = elem_tref(e, i);
    if (!t || k >= fhir_list_len(e.set, t->targets)) return (cw_slice){"", 0};
    return fhir_str(e.set, fhir_list_at(e.set, t->targets, (uint32_t)k));
}

struct cw_fhir_sd cw_fhir_elem_single_type(struct cw_fhir_elem e)
{
    for (int k = 0; k < FHIR_CHAIN_MAX && e.set; k++) {
        const struct fd_elem *r = fhir_elem_rec(e);
        if (r->n_trefs == 1) return fhir_base_sd(e.set->trefs[r->trefs].sd);
        if (r->n_trefs > 1 || r->cref == FD_NONE) return CW_FHIR_NONE_SD;
        e = elem_at(e.set, r->cref);
    }
    return CW_FHIR_NONE_SD;
}

bool cw_fhir_elem_binding(struct cw_fhir_elem e, struct cw_fhir_binding *out)
{
    if (!e.set) return false;
    uint32_t b = fhir_elem_rec(e)->binding;
    if (b >= e.set->n_bindings) return false;
    const struct fd_binding *r = &e.set->bindings[b];
    if (out) {
        out->strength = (enum cw_fhir_strength)r->strength;
        out->value_set = fhir_str(e.set, r->value_set);
        out->name = fhir_str(e.set, r->name);
    }
    return true;
}

size_t cw_fhir_elem_constraint_count(struct cw_fhir_elem e)
{
    return e.set ? fhir_list_len(e.set, fhir_elem_rec(e)->cons) : 0;
}

int cw_fhir_elem_constraint(struct cw_fhir_elem e, size_t i, struct cw_fhir_constraint *out)
{
    if (i >= cw_fhir_elem_constraint_count(e)) return -1;
    uint32_t c = fhir_list_at(e.set, fhir_elem_rec(e)->cons, (uint32_t)i);
    if (c >= e.set->n_cons) return -1;
    const struct fd_cons *r = &e.set->cons[c];
    out->key = fhir_str(e.set, r->key);
    out->severity = (enum cw_severity)r->severity;
    out->human = fhir_str(e.set, r->human);
    out->expression = fhir_str(e.set, r->expression);
    out->source = fhir_str(e.set, r->source);
    return 0;
}

size_t cw_fhir_elem_value_count(struct cw_fhir_elem e)
{
    const struct fd_extra *x = elem_extra(e);
    return x ? fhir_list_len(e.set, x->values) / 2 : 0;
}

int cw_fhir_elem_value(struct cw_fhir_elem e, size_t i, cw_slice *key, cw_slice *json)
{
    if (i >= cw_fhir_elem_value_count(e)) return -1;
    const struct fd_extra *x = elem_extra(e);
    if (key) *key = fhir_str(e.set, fhir_list_at(e.set, x->values, (uint32_t)(2 * i)));
    if (json) *json = fhir_str(e.set, fhir_list_at(e.set, x->values, (uint32_t)(2 * i + 1)));
    return 0;
}

int cw_fhir_elem_value_find(struct cw_fhir_elem e, const char *prefix, cw_slice *key,
                            cw_slice *json)
{
    size_t n = cw_fhir_elem_value_count(e);
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        cw_slice k = {"", 0};
        cw_fhir_elem_value(e, i, &k, NULL);
        if (k.len > pl && memcmp(k.ptr, prefix, pl) == 0 && isupper((unsigned char)k.ptr[pl]))
            return cw_fhir_elem_value(e, i, key, json);
    }
    return -1;
}

bool cw_fhir_elem_slicing(struct cw_fhir_elem e, struct cw_fhir_slicing *out)
{
    const struct fd_extra *x = elem_extra(e);
    if (!x) return false;
    uint32_t n = fhir_list_len(e.set, x->slicing);
    if (n < 3) return false;
    if (out) {
        out->rules = (enum cw_fhir_slicing_rules)fhir_list_at(e.set, x->slicing, 0);
        out->ordered = fhir_list_at(e.set, x->slicing, 1) != 0;
        out->n_discriminators = (n - 3) / 2;
    }
    return true;
}

int cw_fhir_elem_discriminator(struct cw_fhir_elem e, size_t i, enum cw_fhir_discriminator *type,
                               cw_slice *path)
{
    struct cw_fhir_slicing s;
    if (!cw_fhir_elem_slicing(e, &s) || i >= s.n_discriminators) return -1;
    const struct fd_extra *x = elem_extra(e);
    if (type)
        *type = (enum cw_fhir_discriminator)fhir_list_at(e.set, x->slicing, (uint32_t)(3 + 2 * i));
    if (path) *path = fhir_str(e.set, fhir_list_at(e.set, x->slicing, (uint32_t)(4 + 2 * i)));
    return 0;
}

/* ---- navigation ---- */

struct cw_fhir_elem cw_fhir_elem_structure(struct cw_fhir_elem e, struct cw_fhir_sd type)
{
    for (int k = 0; k < FHIR_CHAIN_MAX && e.set; k++) {
        const struct fd_elem *r = fhir_elem_rec(e);
        if (fhir_list_len(e.set, r->kids) > 0) return e;
        if (r->cref == FD_NONE) break;
        e = elem_at(e.set, r->cref);
    }
    return cw_fhir_sd_root(type);
}

/* Does s (a choice suffix: "Quantity", "DateTime") name type t ("dateTime")? */
static bool suffix_names_type(cw_slice s, cw_slice t)
{
    if (s.len != t.len || s.len == 0) return false;
    if (s.ptr[0] != (char)toupper((unsigned char)t.ptr[0])) return false;
    return memcmp(s.ptr + 1, t.ptr + 1, s.len - 1) == 0;
}

int cw_fhir_resolve(struct cw_fhir_elem parent, struct cw_fhir_sd parent_type, cw_slice json_name,
                    struct cw_fhir_prop *out)
{
    struct cw_fhir_elem ctx = cw_fhir_elem_structure(parent, parent_type);
    if (!ctx.set || json_name.len == 0) return -1;
    unsigned flags = 0;
    cw_slice name = json_name;
    if (name.ptr[0] == '_') {
        flags |= CW_FHIR_PROP_EXT;
        name.ptr++;
        name.len--;
        if (name.len == 0) return -1;
    }
    const struct cw_fhir_set *s = ctx.set;
    fd_list kids = fhir_elem_rec(ctx)->kids;
    uint32_t n = fhir_list_len(s, kids);
    /* core definitions: the hash index names the one candidate (fhir_index.c) */
    uint32_t only = FHIR_INDEX_NOINDEX, tix = 0;
    if (s == &cw_fhir_base_set) {
        only = fhir_index_find(ctx.i, name, &tix);
        if (only == FD_NONE) return -1;
        if (only != FHIR_INDEX_NOINDEX) n = 1;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t ei = only != FHIR_INDEX_NOINDEX ? only : fhir_list_at(s, kids, k);
        const struct fd_elem *r = &s->elems[ei];
        if (r->name_len > name.len) continue;
        const char *en = fhir_cstr(s, r->name);
        if (only == FHIR_INDEX_NOINDEX && memcmp(en, name.ptr, r->name_len) != 0) continue;
        struct cw_fhir_prop p = {.elem = {s, ei}, .flags = flags};
        if (r->flags & FD_E_CHOICE) {
            if (r->name_len == name.len) continue; /* "value" alone is not a JSON name */
            cw_slice suffix = {name.ptr + r->name_len, name.len - r->name_len};
            bool found = false;
            for (uint32_t t = only != FHIR_INDEX_NOINDEX ? tix : 0; t < r->n_trefs; t++) {
                const struct fd_tref *tr = &s->trefs[r->trefs + t];
                struct cw_fhir_sd tsd = fhir_base_sd(tr->sd);
                if (suffix_names_type(suffix, cw_fhir_sd_type_name(tsd))) {
                    p.type = tsd;
                    p.type_index = t;
                    found = true;
                    break;
                }
            }
            if (!found) continue;
            p.flags |= CW_FHIR_PROP_CHOICE;
        } else {
            if (r->name_len != name.len) continue;
            if (only != FHIR_INDEX_NOINDEX)
                p.type = tix ? fhir_base_sd(tix - 1) : CW_FHIR_NONE_SD;
            else
                p.type = cw_fhir_elem_single_type(p.elem);
            p.type_index = 0;
        }
        /* json.html: arrays follow the base definition's cardinality */
        if (r->flags & FD_E_REPEATS) p.flags |= CW_FHIR_PROP_ARRAY;
        if (flags & CW_FHIR_PROP_EXT) {
            /* "_name" exists only for primitives that are not XML attributes
               (json.html "Representations of primitive data types"). */
            if (cw_fhir_sd_kind(p.type) != CW_FHIR_KIND_PRIMITIVE) return -1;
            if (r->flags & FD_E_XML_ATTR) return -1;
        }
        *out = p;
        return 0;
    }
    return -1;
}

struct cw_fhir_elem cw_fhir_child_by_name(struct cw_fhir_elem parent, struct cw_fhir_sd parent_type,
                                          cw_slice name)
{
    struct cw_fhir_elem ctx = cw_fhir_elem_structure(parent, parent_type);
    if (!ctx.set) return CW_FHIR_NONE_ELEM;
    const struct cw_fhir_set *s = ctx.set;
    fd_list kids = fhir_elem_rec(ctx)->kids;
    uint32_t n = fhir_list_len(s, kids);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t ei = fhir_list_at(s, kids, k);
        const struct fd_elem *r = &s->elems[ei];
        if (r->name_len == name.len && memcmp(fhir_cstr(s, r->name), name.ptr, name.len) == 0)
            return (struct cw_fhir_elem){s, ei};
    }
    return CW_FHIR_NONE_ELEM;
}
