/*
 * fhir_validate_cache.c — the process-wide cache of compiled FHIRPath
 * expressions used by the validator (invariants, slicing discriminator
 * paths).
 *
 * Owns: every expression it compiled, for the life of the process (the
 * definitions that name them are immutable, and registry profiles add at
 * most a few hundred). Keyed by the expression text, so equal expressions
 * (ele-1 sits on every element) share one compiled tree and a freed
 * registry cannot leave a stale entry behind.
 *
 * Invariants: lookups take a read lock, inserts a write lock; a compiled
 * tree is immutable once published, so evaluations need no lock. An
 * expression that fails to compile is cached too (expr NULL, the error
 * kept) and is not compiled again. The table is bounded (VCACHE_MAX
 * entries); past that, expressions are compiled per call and freed by the
 * caller (fhir_vcache_release).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_validate_int.h"

#define VCACHE_MAX 65536u

struct ventry {
    char *text;
    size_t len;
    uint64_t hash;
    struct cw_fhirpath_expr *expr; /* NULL: failed to compile */
    struct cw_err err;
};

static pthread_rwlock_t vc_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ventry **vc_slots; /* open addressing, power of two */
static size_t vc_cap, vc_n;

static uint64_t fnv(cw_slice s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= 1099511628211ull;
    }
    return h;
}

static struct ventry *find_locked(cw_slice text, uint64_t h)
{
    if (!vc_cap) return NULL;
    for (size_t i = h & (vc_cap - 1), k = 0; k < vc_cap; i = (i + 1) & (vc_cap - 1), k++) {
        struct ventry *e = vc_slots[i];
        if (!e) return NULL;
        if (e->hash == h && e->len == text.len && memcmp(e->text, text.ptr, text.len) == 0)
            return e;
    }
    return NULL;
}

static int grow_locked(void)
{
    size_t ncap = vc_cap ? vc_cap * 2 : 1024;
    struct ventry **ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < vc_cap; i++) {
        struct ventry *e = vc_slots[i];
        if (!e) continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j]) j = (j + 1) & (ncap - 1);
        ns[j] = e;
    }
    free(vc_slots);
    vc_slots = ns;
    vc_cap = ncap;
    return 0;
}

const struct cw_fhirpath_expr *fhir_vcache_get(cw_slice text, bool *owned, struct cw_err *err)
{
    *owned = false;
    uint64_t h = fnv(text);
    pthread_rwlock_rdlock(&vc_lock);
    struct ventry *e = find_locked(text, h);
    pthread_rwlock_unlock(&vc_lock);
    if (e) {
        if (!e->expr && err) *err = e->err;
        return e->expr;
    }
    /* compile outside the lock; a racing thread may do the same, the first
       insert wins and the loser's tree is freed */
    struct cw_fhirpath_expr *x = NULL;
    struct cw_err cerr;
    cw_err_clear(&cerr);
    if (cw_fhirpath_compile(text, NULL, &x, &cerr) != 0) x = NULL;
    struct ventry *ne = calloc(1, sizeof *ne);
    char *t = ne ? malloc(text.len + 1) : NULL;
    if (!ne || !t) {
        free(ne);
        if (!x && err) *err = cerr;
        *owned = x != NULL;
        return x;
    }
    memcpy(t, text.ptr, text.len);
    t[text.len] = 0;
    ne->text = t;
    ne->len = text.len;
    ne->hash = h;
    ne->expr = x;
    ne->err = cerr;
    pthread_rwlock_wrlock(&vc_lock);
    struct ventry *old = find_locked(text, h);
    if (!old && vc_n < VCACHE_MAX && (vc_n + 1) * 2 <= vc_cap) {
        /* fits */
    } else if (!old && vc_n < VCACHE_MAX) {
        if (grow_locked() != 0) old = NULL, vc_n = VCACHE_MAX; /* stop caching */
    }
    if (old || vc_n >= VCACHE_MAX) {
        pthread_rwlock_unlock(&vc_lock);
        free(t);
        free(ne);
        if (old) {
            cw_fhirpath_free(x);
            if (!old->expr && err) *err = old->err;
            return old->expr;
        }
        if (!x && err) *err = cerr;
        *owned = x != NULL;
        return x;
    }
    size_t j = h & (vc_cap - 1);
    while (vc_slots[j]) j = (j + 1) & (vc_cap - 1);
    vc_slots[j] = ne;
    vc_n++;
    pthread_rwlock_unlock(&vc_lock);
    if (!x && err) *err = cerr;
    return x;
}

void fhir_vcache_release(const struct cw_fhirpath_expr *e, bool owned)
{
    if (owned) cw_fhirpath_free((struct cw_fhirpath_expr *)e);
}

size_t cw_fhir_validate_warm(void (*report)(cw_slice key, const struct cw_err *err, void *ctx),
                             void *ctx)
{
    size_t failed = 0;
    size_t nsd = cw_fhir_core_sd_count();
    for (size_t i = 0; i < nsd; i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        size_t ne = cw_fhir_sd_elem_count(sd);
        for (size_t k = 0; k < ne; k++) {
            struct cw_fhir_elem e = cw_fhir_sd_elem_at(sd, k);
            size_t nc = cw_fhir_elem_constraint_count(e);
            for (size_t c = 0; c < nc; c++) {
                struct cw_fhir_constraint con;
                if (cw_fhir_elem_constraint(e, c, &con) != 0 || con.expression.len == 0) continue;
                if (fhir_vnative(con.key, con.expression)) continue;
                struct cw_err err;
                cw_err_clear(&err);
                bool owned;
                const struct cw_fhirpath_expr *x = fhir_vcache_get(con.expression, &owned, &err);
                if (!x) {
                    failed++;
                    if (report) report(con.key, &err, ctx);
                }
                fhir_vcache_release(x, owned);
            }
        }
    }
    return failed;
}
