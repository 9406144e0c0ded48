/*
 * hash.c — SipHash, the fast multiply-mix hash, and the Robin Hood map.
 *
 * SipHash follows the paper "SipHash: a fast short-input PRF" (Aumasson,
 * Bernstein, 2012): four 64-bit lanes initialised from the key and the
 * "somepseudorandomlygeneratedbytes" constants, c compression rounds per
 * 8-byte little-endian word, the length in the top byte of the final word,
 * then d finalisation rounds. SipHash-c-d is written once and instantiated
 * for 1-3 and 2-4.
 *
 * Map invariants (Robin Hood linear probing):
 *   - cap is 0 or a power of two >= 8; slots == NULL iff cap == 0.
 *   - count <= cap - cap/8, so at least one slot is always empty and every
 *     probe loop terminates.
 *   - The probe distance of an entry is (slot - (hash & mask)) & mask. Along
 *     any run of occupied slots, an entry's distance is never more than one
 *     greater than its predecessor's. Insertion keeps this by displacing
 *     entries that are closer to home than the one being placed ("rob the
 *     rich"); a lookup can therefore stop as soon as it meets an entry closer
 *     to home than it is itself.
 *   - Deletion shifts the following entries back by one until an empty slot
 *     or an entry at its home slot: the table looks exactly as if the deleted
 *     key had never been inserted, so there are no tombstones.
 */
#include "base/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/random.h"

/* ---- loads ------------------------------------------------------------ */

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

/* ---- SipHash ---------------------------------------------------------- */

struct sip {
    uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static inline uint64_t siphash(const void *vp, size_t n, uint64_t k0, uint64_t k1, int c, int d)
{
    const unsigned char *p = vp;
    struct sip s = {
        .v0 = k0 ^ 0x736f6d6570736575ull,
        .v1 = k1 ^ 0x646f72616e646f6dull,
        .v2 = k0 ^ 0x6c7967656e657261ull,
        .v3 = k1 ^ 0x7465646279746573ull,
    };
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++, p += 8) {
        uint64_t m = load64(p);
        s.v3 ^= m;
        for (int r = 0; r < c; r++) sip_round(&s);
        s.v0 ^= m;
    }
    /* Last word: remaining bytes little-endian, length mod 256 on top. */
    uint64_t last = (uint64_t)(n & 0xff) << 56;
    switch (n & 7) {
    case 7: last |= (uint64_t)p[6] << 48; /* fall through */
    case 6: last |= (uint64_t)p[5] << 40; /* fall through */
    case 5: last |= (uint64_t)p[4] << 32; /* fall through */
    case 4: last |= (uint64_t)p[3] << 24; /* fall through */
    case 3: last |= (uint64_t)p[2] << 16; /* fall through */
    case 2: last |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: last |= (uint64_t)p[0]; break;
    default: break;
    }
    s.v3 ^= last;
    for (int r = 0; r < c; r++) sip_round(&s);
    s.v0 ^= last;
    s.v2 ^= 0xff;
    for (int r = 0; r < d; r++) sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t cw_hash_sip13(const void *p, size_t n, uint64_t k0, uint64_t k1)
{
    return siphash(p, n, k0, k1, 1, 3);
}

uint64_t cw_hash_sip24(const void *p, size_t n, uint64_t k0, uint64_t k1)
{
    return siphash(p, n, k0, k1, 2, 4);
}

/* ---- fast multiply-mix hash ------------------------------------------ */

/* Odd constants with balanced bits: the golden ratio and the SplitMix64
 * multipliers (Steele, Lea, Flood 2014). */
#define F0 0x9e3779b97f4a7c15ull
#define F1 0xbf58476d1ce4e5b9ull
#define F2 0x94d049bb133111ebull
#define F3 0xd6e8feb86659fd93ull

/* 64x64 -> 128-bit product folded to 64 bits: every input bit reaches the
 * middle of the product, and the fold brings the high half back down. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t cw_hash_fast(const void *vp, size_t n, uint64_t seed)
{
    const unsigned char *p = vp;
    uint64_t a, b;
    seed ^= fold_mul(seed ^ F0, F1);
    if (n <= 16) {
        /* Two possibly overlapping reads cover 4..16 bytes; 1..3 bytes are
         * packed first/middle/last. The length is mixed in at the end, so
         * the overlaps cannot make different lengths collide trivially. */
        if (n >= 8) {
            a = load64(p);
            b = load64(p + n - 8);
        } else if (n >= 4) {
            a = load32(p);
            b = load32(p + n - 4);
        } else if (n > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = n;
        if (i > 48) {
            /* Three independent lanes keep the multiplier busy. */
            uint64_t s1 = seed, s2 = seed;
            do {
                seed = fold_mul(load64(p) ^ F1, load64(p + 8) ^ seed);
                s1 = fold_mul(load64(p + 16) ^ F2, load64(p + 24) ^ s1);
                s2 = fold_mul(load64(p + 32) ^ F3, load64(p + 40) ^ s2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= s1 ^ s2;
        }
        while (i > 16) {
            seed = fold_mul(load64(p) ^ F1, load64(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        /* The last 16 bytes (overlapping bytes already mixed is harmless;
         * at least 16 bytes were consumed, so this stays inside the input). */
        a = load64(p + i - 16);
        b = load64(p + i - 8);
    }
    uint64_t x = fold_mul(a ^ F1, b ^ seed);
    return fold_mul(x ^ F0, (uint64_t)n ^ F2);
}

/* ---- per-process key -------------------------------------------------- */

static pthread_once_t proc_key_once = PTHREAD_ONCE_INIT;
static uint64_t proc_key[2];

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += F0);
    z = (z ^ (z >> 30)) * F1;
    z = (z ^ (z >> 27)) * F2;
    return z ^ (z >> 31);
}

static void init_proc_key(void)
{
    if (cw_random_bytes(proc_key, sizeof proc_key, NULL) == 0) return;
    /* getrandom cannot fail on supported kernels; if it ever does, a key
     * from the clock, pid and ASLR is weaker but still unknown remotely. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48) ^
                 (uint64_t)(uintptr_t)&ts;
    proc_key[0] = splitmix(&x);
    proc_key[1] = splitmix(&x);
}

static void get_proc_key(uint64_t *k0, uint64_t *k1)
{
    pthread_once(&proc_key_once, init_proc_key);
    *k0 = proc_key[0];
    *k1 = proc_key[1];
}

uint64_t cw_hash_bytes(cw_slice s)
{
    uint64_t k0, k1;
    get_proc_key(&k0, &k1);
    return cw_hash_sip13(s.ptr, s.len, k0, k1);
}

/* ---- the map ---------------------------------------------------------- */

#define OCCUPIED ((uint64_t)1 << 63)
#define MIN_CAP ((size_t)8)
#define NOT_FOUND SIZE_MAX

/* Entries a table of cap slots may hold (7/8 load). */
static inline size_t threshold(size_t cap)
{
    return cap - cap / 8;
}

/* The smallest table that holds n entries, or 0 if none fits in memory. */
static size_t cap_for(size_t n)
{
    size_t cap = MIN_CAP;
    while (threshold(cap) < n) {
        if (cap > SIZE_MAX / 2 / sizeof(struct cw_hash_slot)) return 0;
        cap *= 2;
    }
    return cap;
}

static inline uint64_t key_hash(const struct cw_hash *h, const char *p, size_t n)
{
    uint64_t x;
    switch (h->fn) {
    case CW_HASH_FAST: x = cw_hash_fast(p, n, h->k0); break;
    case CW_HASH_DEGENERATE: x = h->k0; break;
    case CW_HASH_SIP13:
    default: x = cw_hash_sip13(p, n, h->k0, h->k1); break;
    }
    return x | OCCUPIED;
}

static inline size_t distance(uint64_t hash, size_t pos, size_t mask)
{
    return (pos - (size_t)(hash & mask)) & mask;
}

int cw_hash_init(struct cw_hash *h, const struct cw_hash_opts *opts, struct cw_err *err)
{
    static const struct cw_hash_opts defaults = {0};
    if (!opts) opts = &defaults;
    memset(h, 0, sizeof *h);
    h->fn = opts->fn;
    h->key_arena = opts->key_arena;
    h->max_entries = opts->max_entries ? opts->max_entries : CW_HASH_DEFAULT_MAX;
    /* Keep the largest table addressable: a max no memory could hold is
     * clamped to the largest table we can describe. */
    h->max_cap = cap_for(h->max_entries);
    if (!h->max_cap) {
        h->max_cap = cap_for(SIZE_MAX / 4 / sizeof(struct cw_hash_slot));
        h->max_entries = threshold(h->max_cap);
    }
    if (opts->fixed_seed) {
        h->k0 = opts->seed[0];
        h->k1 = opts->seed[1];
    } else {
        get_proc_key(&h->k0, &h->k1);
    }
    if (opts->initial) return cw_hash_reserve(h, opts->initial, err);
    return 0;
}

void cw_hash_release(struct cw_hash *h)
{
    free(h->slots);
    h->slots = NULL;
    h->cap = 0;
    h->count = 0;
}

void cw_hash_clear(struct cw_hash *h)
{
    if (h->slots) memset(h->slots, 0, h->cap * sizeof *h->slots);
    h->count = 0;
}

/* Put an entry whose key is known to be absent; returns where it landed. */
static struct cw_hash_slot *place(struct cw_hash_slot *slots, size_t mask, struct cw_hash_slot e)
{
    size_t pos = (size_t)(e.hash & mask), dist = 0;
    struct cw_hash_slot *landed = NULL;
    for (;;) {
        struct cw_hash_slot *s = &slots[pos];
        if (!s->hash) {
            *s = e;
            return landed ? landed : s;
        }
        size_t sd = distance(s->hash, pos, mask);
        if (sd < dist) {
            struct cw_hash_slot t = *s;
            *s = e;
            e = t;
            dist = sd;
            if (!landed) landed = s;
        }
        pos = (pos + 1) & mask;
        dist++;
    }
}

static int resize(struct cw_hash *h, size_t newcap, struct cw_err *err)
{
    struct cw_hash_slot *slots = calloc(newcap, sizeof *slots);
    if (!slots) return cw_err_set(err, CW_ISSUE_EXCEPTION, "hash table: out of memory");
    size_t mask = newcap - 1;
    for (size_t i = 0; i < h->cap; i++)
        if (h->slots[i].hash) place(slots, mask, h->slots[i]);
    free(h->slots);
    h->slots = slots;
    h->cap = newcap;
    return 0;
}

int cw_hash_reserve(struct cw_hash *h, size_t n, struct cw_err *err)
{
    if (n > h->max_entries)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "hash table: %zu entries exceed the maximum %zu",
                          n, h->max_entries);
    if (n == 0) return 0;
    size_t cap = cap_for(n);
    if (cap > h->max_cap) cap = h->max_cap;
    if (cap <= h->cap) return 0;
    return resize(h, cap, err);
}

static size_t find_pos(const struct cw_hash *h, uint64_t hash, const char *p, size_t n)
{
    if (!h->count) return NOT_FOUND;
    size_t mask = h->cap - 1, pos = (size_t)(hash & mask), dist = 0;
    for (;;) {
        const struct cw_hash_slot *s = &h->slots[pos];
        if (!s->hash || distance(s->hash, pos, mask) < dist) return NOT_FOUND;
        if (s->hash == hash && s->klen == n && (n == 0 || memcmp(s->kptr, p, n) == 0)) return pos;
        pos = (pos + 1) & mask;
        dist++;
    }
}

void **cw_hash_upsert(struct cw_hash *h, cw_slice key, bool *inserted, struct cw_err *err)
{
    uint64_t hash = key_hash(h, key.ptr, key.len);
    size_t pos = find_pos(h, hash, key.ptr, key.len);
    if (pos != NOT_FOUND) {
        if (inserted) *inserted = false;
        return &h->slots[pos].value;
    }
    if (h->count >= h->max_entries) {
        cw_err_set(err, CW_ISSUE_TOO_COSTLY, "hash table full: %zu entries (maximum)", h->max_entries);
        return NULL;
    }
    if (h->count + 1 > threshold(h->cap)) {
        size_t newcap = h->cap ? h->cap * 2 : MIN_CAP;
        if (newcap > h->max_cap) newcap = h->max_cap;
        if (resize(h, newcap, err) < 0) return NULL;
    }
    const char *kp = key.ptr;
    if (h->key_arena) {
        cw_slice copy = cw_arena_dup(h->key_arena, key);
        if (!copy.ptr) {
            cw_err_set(err, CW_ISSUE_TOO_COSTLY, "hash table: key arena exhausted");
            return NULL;
        }
        kp = copy.ptr;
    }
    struct cw_hash_slot e = {.hash = hash, .kptr = kp, .klen = key.len, .value = NULL};
    struct cw_hash_slot *s = place(h->slots, h->cap - 1, e);
    h->count++;
    if (inserted) *inserted = true;
    return &s->value;
}

int cw_hash_put(struct cw_hash *h, cw_slice key, void *value, void **old, struct cw_err *err)
{
    bool inserted = false;
    void **slot = cw_hash_upsert(h, key, &inserted, err);
    if (!slot) return -1;
    if (old) *old = inserted ? NULL : *slot;
    *slot = value;
    return inserted ? 0 : 1;
}

bool cw_hash_find(const struct cw_hash *h, cw_slice key, void **value)
{
    if (!h->count) return false;
    size_t pos = find_pos(h, key_hash(h, key.ptr, key.len), key.ptr, key.len);
    if (pos == NOT_FOUND) return false;
    if (value) *value = h->slots[pos].value;
    return true;
}

/* Backward-shift deletion of the entry at pos. */
static void remove_at(struct cw_hash *h, size_t pos)
{
    size_t mask = h->cap - 1;
    for (;;) {
        size_t next = (pos + 1) & mask;
        const struct cw_hash_slot *n = &h->slots[next];
        if (!n->hash || distance(n->hash, next, mask) == 0) break;
        h->slots[pos] = *n;
        pos = next;
    }
    memset(&h->slots[pos], 0, sizeof h->slots[pos]);
    h->count--;
}

bool cw_hash_remove(struct cw_hash *h, cw_slice key, void **old)
{
    if (!h->count) return false;
    size_t pos = find_pos(h, key_hash(h, key.ptr, key.len), key.ptr, key.len);
    if (pos == NOT_FOUND) return false;
    if (old) *old = h->slots[pos].value;
    remove_at(h, pos);
    return true;
}

/*
 * Iteration starts just after an empty slot and walks forward once around
 * the table. Backward shifts only ever move entries from later slots into
 * the hole at the current position, and never across an empty slot, so
 * after cw_hash_iter_remove the current slot is examined again and nothing
 * is skipped or seen twice.
 */
void cw_hash_iter_init(const struct cw_hash *h, struct cw_hash_iter *it)
{
    memset(it, 0, sizeof *it);
    if (!h->count) return;
    size_t e = 0;
    while (h->slots[e].hash) e++; /* exists: count < cap */
    it->start = it->pos = e;
    it->left = h->cap - 1;
}

bool cw_hash_next(const struct cw_hash *h, struct cw_hash_iter *it, cw_slice *key, void **value)
{
    while (it->left > 0 || it->removed) {
        if (it->removed) {
            it->removed = false;
        } else {
            it->pos = (it->pos + 1) & (h->cap - 1);
            it->left--;
        }
        const struct cw_hash_slot *s = &h->slots[it->pos];
        if (s->hash) {
            if (key) *key = (cw_slice){s->kptr, s->klen};
            if (value) *value = s->value;
            return true;
        }
    }
    return false;
}

void cw_hash_iter_remove(struct cw_hash *h, struct cw_hash_iter *it)
{
    if (it->removed || !h->slots || !h->slots[it->pos].hash || it->pos == it->start) return;
    remove_at(h, it->pos);
    it->removed = true;
}
