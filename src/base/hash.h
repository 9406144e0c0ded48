/*
 * hash.h — byte-string hashing and an open-addressing hash map.
 *
 * Hash functions
 *   cw_hash_sip13   SipHash-1-3 (Aumasson & Bernstein; the round counts used
 *                   by Rust's HashMap and Python's str hash). A keyed PRF:
 *                   with a secret random key an attacker who chooses the keys
 *                   cannot predict collisions, so a map fed with resource
 *                   ids, header names or v2 field values cannot be flooded
 *                   into quadratic behaviour (hash-flooding DoS).
 *   cw_hash_sip24   SipHash-2-4, the conservative original (for test vectors
 *                   and anyone who needs the standard MAC-strength variant).
 *   cw_hash_fast    our multiply-mix hash in the wyhash/rapidhash family
 *                   (64x64->128 multiply, fold high ^ low). About 2-4x faster
 *                   than SipHash-1-3 on short keys, good avalanche, but NOT
 *                   collision-resistant against an adversary who knows the
 *                   design (multiply-mix hashes have seed-independent
 *                   collision families). Use it only for keys we generate
 *                   ourselves: compiled definitions, code-system tables.
 *
 * The map
 *   struct cw_hash maps byte-string keys (cw_slice; any bytes, NULs
 *   included, empty key allowed) to void * values. Open addressing with
 *   linear probing in Robin Hood order and backward-shift deletion: no
 *   tombstones, so deletes followed by inserts never degrade the table, and
 *   lookups of absent keys stop early. The table is kept at most 7/8 full
 *   and doubles when it would be fuller.
 *
 *   By default a map hashes with SipHash-1-3 under a per-process random key
 *   (drawn once from getrandom). Trusted-key tables may choose CW_HASH_FAST.
 *
 * Ownership
 *   - The slot table is heap memory owned by the map: cw_hash_release frees
 *     it. The map may live anywhere (stack, struct, arena).
 *   - Keys are BORROWED by default: the map stores the slice, so the caller
 *     must keep the key bytes alive and unchanged for as long as the entry
 *     exists. Set opts.key_arena to have the map copy each newly inserted
 *     key into that arena instead (the arena must then outlive the map).
 *   - Values are opaque pointers; the map never dereferences or frees them.
 *
 * Limits
 *   Every map has max_entries (default CW_HASH_DEFAULT_MAX). Inserting a new
 *   key into a full map fails with issue "too-costly" and leaves the map
 *   unchanged; the table never grows past what max_entries needs.
 *
 * Thread safety: none. A map belongs to one thread at a time; concurrent
 * readers are safe only if nobody writes.
 */
#ifndef CW_BASE_HASH_H
#define CW_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/slice.h"

/* Default ceiling on entries: 1 Mi keys (a table of at most 32 MiB). */
#define CW_HASH_DEFAULT_MAX ((size_t)1 << 20)

/* SipHash-1-3 of [p, p+n) under the 128-bit key (k0, k1). Pure function. */
uint64_t cw_hash_sip13(const void *p, size_t n, uint64_t k0, uint64_t k1);

/* SipHash-2-4 of [p, p+n) under the key (k0, k1). Pure function. */
uint64_t cw_hash_sip24(const void *p, size_t n, uint64_t k0, uint64_t k1);

/* Our fast multiply-mix hash of [p, p+n) with a 64-bit seed. Pure function.
 * Not for adversarial keys (see the file comment). */
uint64_t cw_hash_fast(const void *p, size_t n, uint64_t seed);

/*
 * SipHash-1-3 of s under the per-process random key: the hash to use for
 * anything keyed by outside input. The key is drawn on first use (thread
 * safe); values differ between processes, so never persist them.
 */
uint64_t cw_hash_bytes(cw_slice s);

/* Which function a map uses. */
enum cw_hash_fn {
    CW_HASH_SIP13 = 0, /* default: safe for untrusted keys */
    CW_HASH_FAST,      /* trusted keys only */
    CW_HASH_DEGENERATE, /* tests only: every key hashes alike (full collisions) */
};

/* Options for cw_hash_init; a zeroed struct (or NULL) gives the defaults. */
struct cw_hash_opts {
    size_t max_entries;         /* 0 = CW_HASH_DEFAULT_MAX */
    size_t initial;             /* entries to size for up front (0 = lazily) */
    enum cw_hash_fn fn;         /* CW_HASH_SIP13 unless told otherwise */
    struct cw_arena *key_arena; /* non-NULL: copy new keys here */
    bool fixed_seed;            /* use seed[] instead of the process key */
    uint64_t seed[2];           /* (tests, reproducible layouts) */
};

/* A slot of the table; private, visible only so struct cw_hash has a size. */
struct cw_hash_slot {
    uint64_t hash; /* 0 = empty; occupied slots have the top bit set */
    const char *kptr;
    size_t klen;
    void *value;
};

struct cw_hash {
    struct cw_hash_slot *slots; /* NULL until the first insert */
    size_t cap;                 /* slots, a power of two (or 0) */
    size_t count;               /* occupied slots */
    size_t max_entries;
    size_t max_cap;             /* the largest table max_entries needs */
    uint64_t k0, k1;            /* hash key / seed */
    enum cw_hash_fn fn;
    struct cw_arena *key_arena;
};

/*
 * Initialize an empty map (opts may be NULL). Allocates only when
 * opts->initial > 0; returns -1 with err ("too-costly" when initial exceeds
 * max_entries, "exception" when out of memory), leaving a valid empty map.
 */
int cw_hash_init(struct cw_hash *h, const struct cw_hash_opts *opts, struct cw_err *err);

/* Free the table. The map is empty and reusable (same options) afterwards. */
void cw_hash_release(struct cw_hash *h);

/* Remove every entry, keeping the table's storage. */
void cw_hash_clear(struct cw_hash *h);

/* Number of entries. */
static inline size_t cw_hash_count(const struct cw_hash *h)
{
    return h->count;
}

/* Make room for n entries in total without further growth. -1 with err
 * ("too-costly" past max_entries, "exception" when out of memory). */
int cw_hash_reserve(struct cw_hash *h, size_t n, struct cw_err *err);

/*
 * Insert key -> value, or replace the value of an existing key (the stored
 * key is kept). Returns 0 when inserted, 1 when replaced, -1 with err when
 * the map is full ("too-costly") or memory is out ("exception"); on -1 the
 * map is unchanged. *old (if given) receives the replaced value or NULL.
 */
int cw_hash_put(struct cw_hash *h, cw_slice key, void *value, void **old, struct cw_err *err);

/*
 * The value slot for key, inserting (with value NULL) when absent: a
 * get-or-create in one probe sequence. *inserted (if given) tells which.
 * The pointer is valid until the next insert or remove. NULL with err on
 * failure (same causes as cw_hash_put).
 */
void **cw_hash_upsert(struct cw_hash *h, cw_slice key, bool *inserted, struct cw_err *err);

/* True when key is present; *value (if given) receives its value. */
bool cw_hash_find(const struct cw_hash *h, cw_slice key, void **value);

/* The value for key, or NULL when absent (use cw_hash_find to store NULLs). */
static inline void *cw_hash_get(const struct cw_hash *h, cw_slice key)
{
    void *v = NULL;
    cw_hash_find(h, key, &v);
    return v;
}

/* Remove key. True when it was present; *old (if given) gets its value. */
bool cw_hash_remove(struct cw_hash *h, cw_slice key, void **old);

/*
 * Iteration visits every entry exactly once, in no particular order:
 *
 *   struct cw_hash_iter it;
 *   cw_slice k; void *v;
 *   cw_hash_iter_init(h, &it);
 *   while (cw_hash_next(h, &it, &k, &v)) {
 *       if (unwanted(v)) cw_hash_iter_remove(h, &it);
 *   }
 *
 * The only change allowed while iterating is cw_hash_iter_remove of the
 * entry just returned; any other insert or remove invalidates the iterator.
 */
struct cw_hash_iter {
    size_t start; /* an empty slot: entries never move across it */
    size_t pos;   /* slot of the entry last returned */
    size_t left;  /* slots not yet examined */
    bool removed; /* cw_hash_iter_remove ran on 'pos' */
};

void cw_hash_iter_init(const struct cw_hash *h, struct cw_hash_iter *it);

/* The next entry (key and value may be NULL). False when done. */
bool cw_hash_next(const struct cw_hash *h, struct cw_hash_iter *it, cw_slice *key, void **value);

/* Remove the entry the last cw_hash_next returned. */
void cw_hash_iter_remove(struct cw_hash *h, struct cw_hash_iter *it);

/*
 * Hash set: a map whose values are unused. Same options, limits,
 * ownership (keys borrowed unless key_arena is set) and thread safety.
 */
struct cw_hset {
    struct cw_hash map;
};

static inline int cw_hset_init(struct cw_hset *s, const struct cw_hash_opts *opts,
                               struct cw_err *err)
{
    return cw_hash_init(&s->map, opts, err);
}

static inline void cw_hset_release(struct cw_hset *s)
{
    cw_hash_release(&s->map);
}

/* Add key: 1 when added, 0 when already present, -1 with err when full/OOM. */
static inline int cw_hset_add(struct cw_hset *s, cw_slice key, struct cw_err *err)
{
    bool inserted = false;
    if (!cw_hash_upsert(&s->map, key, &inserted, err)) return -1;
    return inserted ? 1 : 0;
}

static inline bool cw_hset_has(const struct cw_hset *s, cw_slice key)
{
    return cw_hash_find(&s->map, key, NULL);
}

static inline bool cw_hset_remove(struct cw_hset *s, cw_slice key)
{
    return cw_hash_remove(&s->map, key, NULL);
}

static inline size_t cw_hset_count(const struct cw_hset *s)
{
    return s->map.count;
}

#endif
