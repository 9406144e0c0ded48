/*
 * fhir_index.c — a hash index of the JSON property names of the core
 * definitions: (context element, JSON name) -> child element and, for a
 * choice name ("valueQuantity"), the index of the type it names.
 *
 * Why: cw_fhir_resolve is called for every member of every JSON object the
 * validator, the model iterator and FHIRPath's "all children" walk; a
 * linear scan of the context's children (memcmp per child) was the largest
 * single item in the validator's profile.
 *
 * Owns: one heap table, built on first use (pthread_once) from the static
 * base set and never changed or freed afterwards, so lookups are lock-free
 * and thread-safe. When the table cannot be allocated, fhir_index_find
 * answers FHIR_INDEX_NOINDEX and callers keep their linear scan.
 *
 * Invariants: for each context the keys are inserted in definition order
 * and a key already present is not replaced, so a lookup answers the same
 * child as the first match of the linear scan (json.html: a choice element
 * "value[x]" has one JSON name per type, "value" + the capitalized type
 * name; the bare "value" is not a JSON name of it). Only the base set is
 * indexed: profile sets compiled at run time use the linear scan.
 */
#include <pthread.h>
#include <stdlib.h>

#include "fhir/fhir_int.h"

struct rx_ent {
    uint32_t ctx; /* context element index + 1; 0 = empty slot */
    uint32_t ei;  /* child element index */
    uint32_t h;   /* hash of the JSON name */
    uint16_t len; /* length of the JSON name */
    uint16_t tix; /* choice: index of the named type in the child's trefs;
                     else cw_fhir_elem_single_type's SD index + 1 (0: none) */
};

static struct rx_ent *rx_tab;
static uint32_t rx_mask;
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;
static bool rx_ready; /* set (release) after rx_once ran: skips the call */

/* A hash of a short name from its length and its first and last (up to)
   8 bytes: two loads instead of a loop over the bytes. Names that differ only
   in the middle of a long name collide; the entry check compares the bytes. */
static inline uint32_t name_hash(const char *p, size_t n)
{
    uint64_t a, b;
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        a = x;
        b = y;
    } else if (n > 0) {
        a = (unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << 8 |
            (uint64_t)(unsigned char)p[n - 1] << 16;
        b = 0;
    } else {
        a = b = 0;
    }
    uint64_t h = (a ^ (uint64_t)n << 56) * 0x9E3779B97F4A7C15ull;
    h ^= b * 0xC2B2AE3D27D4EB4Full;
    return (uint32_t)(h ^ h >> 29);
}

static inline uint32_t slot_of(uint32_t ctx, uint32_t h)
{
    uint32_t x = h ^ (ctx * 0x9E3779B1u);
    x ^= x >> 15;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    return x;
}


/* Does entry e of context ctx stand for the JSON name (p, n)? */
static bool ent_is(const struct cw_fhir_set *s, const struct rx_ent *e, const char *p, size_t n)
{
    const struct fd_elem *r = &s->elems[e->ei];
    if (r->name_len > n || !cw_bytes_eq(fhir_cstr(s, r->name), p, r->name_len)) return false;
    if (!(r->flags & FD_E_CHOICE)) return r->name_len == n;
    if (r->name_len == n || e->tix >= r->n_trefs) return false;
    const char *tn = fhir_cstr(&cw_fhir_base_set,
                               cw_fhir_base_set.sds[s->trefs[r->trefs + e->tix].sd].type);
    size_t sl = n - r->name_len;
    const char *suf = p + r->name_len;
    if (strlen(tn) != sl || sl == 0) return false;
    char c0 = tn[0];
    if (c0 >= 'a' && c0 <= 'z') c0 = (char)(c0 - 32);
    return suf[0] == c0 && cw_bytes_eq(suf + 1, tn + 1, sl - 1);
}

static void insert(uint32_t ctx, uint32_t ei, uint16_t tix, const char *p, size_t n)
{
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    uint32_t h = name_hash(p, n);
    for (uint32_t i = slot_of(ctx, h) & rx_mask;; i = (i + 1) & rx_mask) {
        struct rx_ent *e = &rx_tab[i];
        if (e->ctx == 0) {
            *e = (struct rx_ent){.ctx = ctx + 1, .ei = ei, .h = h, .len = (uint16_t)n, .tix = tix};
            return;
        }
        if (e->ctx == ctx + 1 && e->h == h && e->len == n && ent_is(s, e, p, n))
            return; /* an earlier child already answers this name */
    }
}

/* Visit every (context, child, type index, JSON name) of the base set; insert
   when tab is set, else count. */
static size_t walk(bool fill)
{
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    size_t count = 0;
    char buf[256];
    for (uint32_t c = 0; c < s->n_elems; c++) {
        fd_list kids = s->elems[c].kids;
        uint32_t nk = fhir_list_len(s, kids);
        for (uint32_t k = 0; k < nk; k++) {
            uint32_t ei = fhir_list_at(s, kids, k);
            if (ei >= s->n_elems) continue;
            const struct fd_elem *r = &s->elems[ei];
            const char *en = fhir_cstr(s, r->name);
            if (!(r->flags & FD_E_CHOICE)) {
                if (r->name_len == 0) continue;
                count++;
                if (fill) {
                    struct cw_fhir_sd st = cw_fhir_elem_single_type((struct cw_fhir_elem){s, ei});
                    insert(c, ei, (uint16_t)(st.set ? st.i + 1 : 0), en, r->name_len);
                }
                continue;
            }
            for (uint32_t t = 0; t < r->n_trefs && t < UINT16_MAX; t++) {
                uint32_t sd = s->trefs[r->trefs + t].sd;
                if (sd >= cw_fhir_base_set.n_sds) continue;
                const char *tn = fhir_cstr(&cw_fhir_base_set, cw_fhir_base_set.sds[sd].type);
                size_t tl = strlen(tn);
                if (tl == 0 || r->name_len + tl > sizeof buf) continue;
                memcpy(buf, en, r->name_len);
                memcpy(buf + r->name_len, tn, tl);
                if (buf[r->name_len] >= 'a' && buf[r->name_len] <= 'z') buf[r->name_len] -= 32;
                count++;
                if (fill) insert(c, ei, (uint16_t)t, buf, r->name_len + tl);
            }
        }
    }
    return count;
}

static void build(void)
{
    if (cw_fhir_base_set.n_sds >= UINT16_MAX) return; /* SD + 1 must fit tix */
    size_t n = walk(false);
    size_t cap = 1024;
    while (cap < 2 * n) cap <<= 1;
    if (cap > ((size_t)1 << 30)) return;
    rx_tab = calloc(cap, sizeof *rx_tab);
    if (!rx_tab) return;
    rx_mask = (uint32_t)(cap - 1);
    walk(true);
}

uint32_t fhir_index_find(uint32_t ctx, cw_slice name, uint32_t *tix)
{
    if (!__atomic_load_n(&rx_ready, __ATOMIC_ACQUIRE)) {
        pthread_once(&rx_once, build);
        __atomic_store_n(&rx_ready, true, __ATOMIC_RELEASE);
    }
    if (!rx_tab) return FHIR_INDEX_NOINDEX;
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    uint32_t h = name_hash(name.ptr, name.len);
    for (uint32_t i = slot_of(ctx, h) & rx_mask;; i = (i + 1) & rx_mask) {
        const struct rx_ent *e = &rx_tab[i];
        if (e->ctx == 0) return FD_NONE;
        if (e->ctx == ctx + 1 && e->h == h && e->len == name.len &&
            ent_is(s, e, name.ptr, name.len)) {
            *tix = e->tix;
            return e->ei;
        }
    }
}

/* ---- sorted lookup lists of the base set (fhir_bsearch) ----
 * fhir_bsearch compares with a strlen and a memcmp per probe (URLs share
 * long prefixes), and the validator asks it for every type name, value
 * set, code system and profile URL it meets. For each sorted list of the
 * base set a hash maps each distinct key to the record the binary search
 * itself answers, so the index never changes an answer. Tables are made
 * on a list's first lookup (under a mutex) and are read-only afterwards. */

struct tx_ent {
    uint32_t rec; /* record index + 1; 0 = empty */
    uint32_t h;
    uint32_t len;
};

#define SX_LISTS 8

struct sx_tab {
    fd_list list;
    fd_str (*key_of)(const struct cw_fhir_set *, uint32_t);
    struct tx_ent *t; /* NULL: could not be built (binary search) */
    uint32_t mask;
};

static struct sx_tab sx[SX_LISTS];
static unsigned sx_n; /* published entries (release/acquire) */
static pthread_mutex_t sx_mu = PTHREAD_MUTEX_INITIALIZER;

static void sx_build(struct sx_tab *x)
{
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    uint32_t n = fhir_list_len(s, x->list);
    size_t cap = 256;
    while (cap < 2 * (size_t)n) cap <<= 1;
    struct tx_ent *t = calloc(cap, sizeof *t);
    if (!t) return;
    uint32_t mask = (uint32_t)(cap - 1);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t rec = fhir_list_at(s, x->list, k);
        const char *nm = fhir_cstr(s, x->key_of(s, rec));
        cw_slice key = {nm, strlen(nm)};
        uint32_t ans = fhir_bsearch_raw(s, x->list, key, x->key_of);
        if (ans == FD_NONE || ans >= UINT32_MAX - 1) continue;
        uint32_t h = name_hash(key.ptr, key.len);
        for (uint32_t i = h & mask;; i = (i + 1) & mask) {
            if (t[i].rec == 0) {
                t[i] = (struct tx_ent){.rec = ans + 1, .h = h, .len = (uint32_t)key.len};
                break;
            }
            if (t[i].h == h && t[i].len == key.len &&
                cw_bytes_eq(fhir_cstr(s, x->key_of(s, t[i].rec - 1)), key.ptr, key.len))
                break;
        }
    }
    x->mask = mask;
    x->t = t;
}

uint32_t fhir_index_sorted(fd_list list, cw_slice key,
                           fd_str (*key_of)(const struct cw_fhir_set *, uint32_t))
{
    const struct sx_tab *x = NULL;
    unsigned n = __atomic_load_n(&sx_n, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        if (sx[i].list == list && sx[i].key_of == key_of) {
            x = &sx[i];
            break;
        }
    if (!x) {
        pthread_mutex_lock(&sx_mu);
        for (unsigned i = 0; i < sx_n; i++)
            if (sx[i].list == list && sx[i].key_of == key_of) x = &sx[i];
        if (!x && sx_n < SX_LISTS) {
            struct sx_tab *w = &sx[sx_n];
            w->list = list;
            w->key_of = key_of;
            sx_build(w);
            __atomic_store_n(&sx_n, sx_n + 1, __ATOMIC_RELEASE);
            x = w;
        }
        pthread_mutex_unlock(&sx_mu);
        if (!x) return FHIR_INDEX_NOINDEX;
    }
    if (!x->t) return FHIR_INDEX_NOINDEX;
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    uint32_t h = name_hash(key.ptr, key.len);
    for (uint32_t i = h & x->mask;; i = (i + 1) & x->mask) {
        const struct tx_ent *e = &x->t[i];
        if (e->rec == 0) return FD_NONE;
        if (e->h == h && e->len == key.len &&
            cw_bytes_eq(fhir_cstr(s, key_of(s, e->rec - 1)), key.ptr, key.len))
            return e->rec - 1;
    }
}
