/*
 * fhir_search.c — search parameter and compartment lookups over the core
 * tables (search.html, compartmentdefinition.html).
 *
 * Owns: nothing (static tables). Thread-safe.
 *
 * Lookup: sp_keys holds one (resource type, code) -> parameter entry per
 * base of every SearchParameter, sorted by type index then code bytes, so
 * a lookup is one binary search per level of the type's ancestry (the
 * resource, DomainResource, Resource).
 */
#include <string.h>

#include "fhir/fhir_int.h"

#define SET (&cw_fhir_base_set)

static const struct fd_sp *sp_rec(struct cw_fhir_sp sp)
{
    return sp.set && sp.i < sp.set->n_sps ? &sp.set->sps[sp.i] : NULL;
}

static int key_cmp(uint32_t sd, cw_slice code, const struct fd_sp_key *k)
{
    if (sd != k->sd) return sd < k->sd ? -1 : 1;
    return fhir_keycmp(code, fhir_cstr(SET, k->code));
}

/* First key index with k.sd >= sd (lower bound on the type). */
static uint32_t keys_lower(uint32_t sd)
{
    uint32_t lo = 0, hi = SET->n_sp_keys;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (SET->sp_keys[mid].sd < sd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t find_key(uint32_t sd, cw_slice code)
{
    uint32_t lo = 0, hi = SET->n_sp_keys;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(sd, code, &SET->sp_keys[mid]);
        if (c == 0) return SET->sp_keys[mid].sp;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return FD_NONE;
}

struct cw_fhir_sp cw_fhir_sp_find(struct cw_fhir_sd t, cw_slice code)
{
    t = cw_fhir_sd_type(t);
    for (int k = 0; k < 16 && t.set; k++) {
        if (t.set == SET) {
            uint32_t sp = find_key(t.i, code);
            if (sp != FD_NONE) return (struct cw_fhir_sp){SET, sp};
        }
        t = cw_fhir_sd_base(t);
    }
    return (struct cw_fhir_sp){NULL, 0};
}

static fd_str sp_url_key(const struct cw_fhir_set *s, uint32_t i)
{
    return s->sps[i].url;
}

struct cw_fhir_sp cw_fhir_sp_by_url(cw_slice url)
{
    uint32_t i = fhir_bsearch(SET, SET->sp_by_url, fhir_canonical_url(url), sp_url_key);
    return i == FD_NONE ? (struct cw_fhir_sp){NULL, 0} : (struct cw_fhir_sp){SET, i};
}

size_t cw_fhir_sp_count(void)
{
    return SET->n_sps;
}

struct cw_fhir_sp cw_fhir_sp_at(size_t i)
{
    return i < SET->n_sps ? (struct cw_fhir_sp){SET, (uint32_t)i} : (struct cw_fhir_sp){NULL, 0};
}

int cw_fhir_sp_each(struct cw_fhir_sd t, int (*fn)(struct cw_fhir_sp sp, void *ctx), void *ctx)
{
    t = cw_fhir_sd_type(t);
    for (int k = 0; k < 16 && t.set; k++) {
        if (t.set == SET) {
            for (uint32_t j = keys_lower(t.i); j < SET->n_sp_keys && SET->sp_keys[j].sd == t.i;
                 j++) {
                int r = fn((struct cw_fhir_sp){SET, SET->sp_keys[j].sp}, ctx);
                if (r) return r;
            }
        }
        t = cw_fhir_sd_base(t);
    }
    return 0;
}

#define SP_STR(fn, field)                                                                          \
    cw_slice fn(struct cw_fhir_sp sp)                                                              \
    {                                                                                              \
        const struct fd_sp *r = sp_rec(sp);                                                        \
        return r ? fhir_str(sp.set, r->field) : (cw_slice){"", 0};                                 \
    }
SP_STR(cw_fhir_sp_code, code)
SP_STR(cw_fhir_sp_name, name)
SP_STR(cw_fhir_sp_url, url)
SP_STR(cw_fhir_sp_expression, expression)

enum cw_fhir_sp_type cw_fhir_sp_type(struct cw_fhir_sp sp)
{
    const struct fd_sp *r = sp_rec(sp);
    return r ? (enum cw_fhir_sp_type)r->type : (enum cw_fhir_sp_type)0;
}

const char *cw_fhir_sp_type_code(enum cw_fhir_sp_type t)
{
    static const char *const codes[] = {"",          "number",    "date",     "string", "token",
                                        "reference", "composite", "quantity", "uri",    "special"};
    return (unsigned)t < sizeof codes / sizeof codes[0] ? codes[t] : "";
}

bool cw_fhir_sp_multiple_or(struct cw_fhir_sp sp)
{
    const struct fd_sp *r = sp_rec(sp);
    return r && (r->flags & 1);
}

bool cw_fhir_sp_multiple_and(struct cw_fhir_sp sp)
{
    const struct fd_sp *r = sp_rec(sp);
    return r && (r->flags & 2);
}

#define SP_LIST(count_fn, field)                                                                   \
    size_t count_fn(struct cw_fhir_sp sp)                                                          \
    {                                                                                              \
        const struct fd_sp *r = sp_rec(sp);                                                        \
        return r ? fhir_list_len(sp.set, r->field) : 0;                                            \
    }
SP_LIST(cw_fhir_sp_base_count, bases)
SP_LIST(cw_fhir_sp_target_count, targets)
SP_LIST(cw_fhir_sp_modifier_count, modifiers)
SP_LIST(cw_fhir_sp_comparator_count, comparators)
SP_LIST(cw_fhir_sp_chain_count, chains)

struct cw_fhir_sd cw_fhir_sp_base_at(struct cw_fhir_sp sp, size_t i)
{
    if (i >= cw_fhir_sp_base_count(sp)) return CW_FHIR_NONE_SD;
    return fhir_base_sd(fhir_list_at(sp.set, sp_rec(sp)->bases, (uint32_t)i));
}

struct cw_fhir_sd cw_fhir_sp_target_at(struct cw_fhir_sp sp, size_t i)
{
    if (i >= cw_fhir_sp_target_count(sp)) return CW_FHIR_NONE_SD;
    return fhir_base_sd(fhir_list_at(sp.set, sp_rec(sp)->targets, (uint32_t)i));
}

cw_slice cw_fhir_sp_modifier_at(struct cw_fhir_sp sp, size_t i)
{
    if (i >= cw_fhir_sp_modifier_count(sp)) return (cw_slice){"", 0};
    return fhir_str(sp.set, fhir_list_at(sp.set, sp_rec(sp)->modifiers, (uint32_t)i));
}

cw_slice cw_fhir_sp_comparator_at(struct cw_fhir_sp sp, size_t i)
{
    if (i >= cw_fhir_sp_comparator_count(sp)) return (cw_slice){"", 0};
    return fhir_str(sp.set, fhir_list_at(sp.set, sp_rec(sp)->comparators, (uint32_t)i));
}

cw_slice cw_fhir_sp_chain_at(struct cw_fhir_sp sp, size_t i)
{
    if (i >= cw_fhir_sp_chain_count(sp)) return (cw_slice){"", 0};
    return fhir_str(sp.set, fhir_list_at(sp.set, sp_rec(sp)->chains, (uint32_t)i));
}

size_t cw_fhir_sp_component_count(struct cw_fhir_sp sp)
{
    const struct fd_sp *r = sp_rec(sp);
    return r ? fhir_list_len(sp.set, r->components) / 2 : 0;
}

int cw_fhir_sp_component(struct cw_fhir_sp sp, size_t i, cw_slice *definition, cw_slice *expression)
{
    if (i >= cw_fhir_sp_component_count(sp)) return -1;
    fd_list l = sp_rec(sp)->components;
    if (definition) *definition = fhir_str(sp.set, fhir_list_at(sp.set, l, (uint32_t)(2 * i)));
    if (expression) *expression = fhir_str(sp.set, fhir_list_at(sp.set, l, (uint32_t)(2 * i + 1)));
    return 0;
}

size_t cw_fhir_compartment_params(cw_slice code, struct cw_fhir_sd t, cw_slice *params, size_t max)
{
    t = cw_fhir_sd_type(t);
    if (!t.set || t.set != SET) return 0;
    uint32_t lo = 0, hi = SET->n_comps;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct fd_comp *c = &SET->comps[mid];
        int d = fhir_keycmp(code, fhir_cstr(SET, c->code));
        if (d == 0) d = t.i < c->sd ? -1 : t.i > c->sd ? 1 : 0;
        if (d == 0) {
            uint32_t n = fhir_list_len(SET, c->params);
            for (uint32_t k = 0; k < n && k < max; k++)
                params[k] = fhir_str(SET, fhir_list_at(SET, c->params, k));
            return n;
        }
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}
