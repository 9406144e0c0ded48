/*
 * test_hash.c — SipHash test vectors, hash quality, and the Robin Hood map:
 * many keys, full collisions, delete/re-insert, iteration (with removal),
 * growth, binary keys, the max-size limit, arena-copied keys, and a
 * randomized comparison against a trivially correct reference.
 */
#include "testutil.h"

#include "base/arena.h"
#include "base/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reference vectors from the SipHash paper (Appendix A) / reference code:
 * key 00 01 .. 0f, message 00 01 .. (len-1), len = 0..63. */
static const uint64_t sip24_vectors[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

#define K0 0x0706050403020100ull
#define K1 0x0f0e0d0c0b0a0908ull

static void test_siphash_vectors(void **state)
{
    (void)state;
    unsigned char msg[64];
    for (int i = 0; i < 64; i++) msg[i] = (unsigned char)i;
    for (size_t n = 0; n < 64; n++) assert_true(cw_hash_sip24(msg, n, K0, K1) == sip24_vectors[n]);
    /* SipHash-1-3 outputs of the reference implementation, all-zero key. */
    assert_true(cw_hash_sip13("", 0, 0, 0) == 0xd1fba762150c532cull);
    assert_true(cw_hash_sip13("siphash", 7, 0, 0) == 0x8264ceeccb16bcbeull);
    assert_true(cw_hash_sip13("digest-sip_hash", 15, 0, 0) == 0xce31007e34130c0aull);
    /* Unaligned input gives the same answer. */
    unsigned char shifted[65];
    memcpy(shifted + 1, msg, 63);
    assert_true(cw_hash_sip24(shifted + 1, 63, K0, K1) == sip24_vectors[63]);
}

/* xorshift64* for reproducible test data. */
static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

typedef uint64_t (*hash_fn)(const void *, size_t);
static uint64_t h_sip13(const void *p, size_t n)
{
    return cw_hash_sip13(p, n, 0x1234, 0x5678);
}
static uint64_t h_fast(const void *p, size_t n)
{
    return cw_hash_fast(p, n, 0x1234);
}

/* Flipping any single input bit must flip about half the output bits. */
static void check_avalanche(hash_fn fn, const char *name)
{
    unsigned char buf[80];
    double total = 0;
    long samples = 0;
    int worst_min = 64, worst_max = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + (size_t)(rnd() % 79);
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rnd();
        uint64_t base = fn(buf, n);
        for (size_t bit = 0; bit < n * 8; bit++) {
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            int d = __builtin_popcountll(base ^ fn(buf, n));
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            total += d;
            samples++;
            if (d < worst_min) worst_min = d;
            if (d > worst_max) worst_max = d;
        }
    }
    double mean = total / (double)samples;
    printf("%s avalanche: mean %.2f bits of 64 over %ld flips (min %d, max %d)\n", name, mean,
           samples, worst_min, worst_max);
    assert_true(mean > 31.0 && mean < 33.0);
    assert_true(worst_min > 0); /* no flip left the output unchanged */
}

/* Sequential keys ("key-0", "key-1", ...) spread evenly over 1024 buckets. */
static void check_buckets(hash_fn fn, const char *name)
{
    enum { BUCKETS = 1024, KEYS = 200000 };
    static unsigned counts[BUCKETS];
    memset(counts, 0, sizeof counts);
    char key[32];
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        counts[fn(key, (size_t)n) & (BUCKETS - 1)]++;
    }
    double expect = (double)KEYS / BUCKETS, chi = 0;
    for (int b = 0; b < BUCKETS; b++) chi += (counts[b] - expect) * (counts[b] - expect) / expect;
    printf("%s chi-square over %d buckets: %.1f (expected ~%d)\n", name, BUCKETS, chi, BUCKETS - 1);
    /* 1023 degrees of freedom: mean 1023, sd ~45; 1250 is ~5 sd. */
    assert_true(chi < 1250);
}

static void test_hash_quality(void **state)
{
    (void)state;
    check_avalanche(h_sip13, "sip13");
    check_avalanche(h_fast, "fast");
    check_buckets(h_sip13, "sip13");
    check_buckets(h_fast, "fast");
    /* Lengths matter even when bytes overlap, and seeds matter. */
    const char zeros[32] = {0};
    for (size_t n = 0; n < 31; n++) {
        assert_true(cw_hash_fast(zeros, n, 1) != cw_hash_fast(zeros, n + 1, 1));
        assert_true(cw_hash_sip13(zeros, n, 1, 2) != cw_hash_sip13(zeros, n + 1, 1, 2));
    }
    assert_true(cw_hash_fast("abc", 3, 1) != cw_hash_fast("abc", 3, 2));
    assert_true(cw_hash_bytes(CW_LIT("abc")) == cw_hash_bytes(CW_LIT("abc")));
    assert_true(cw_hash_bytes(CW_LIT("abc")) != cw_hash_bytes(CW_LIT("abd")));
}

static cw_slice key_of(char *buf, size_t cap, int i)
{
    int n = snprintf(buf, cap, "Patient/%d", i);
    return (cw_slice){buf, (size_t)n};
}

/* Keys live in an arena-backed array so the map can borrow them. */
static cw_slice *make_keys(struct cw_arena *a, int n)
{
    cw_slice *keys = cw_arena_array(a, (size_t)n, sizeof *keys);
    char tmp[32];
    for (int i = 0; i < n; i++) keys[i] = cw_arena_dup(a, key_of(tmp, sizeof tmp, i));
    return keys;
}

static void run_many_keys(enum cw_hash_fn fn, int n)
{
    struct cw_arena *a = cw_arena_new(0);
    cw_slice *keys = make_keys(a, n);
    struct cw_hash h;
    struct cw_hash_opts o = {.fn = fn};
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_hash_init(&h, &o, &err), 0);
    size_t caps_seen = 0, last_cap = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(cw_hash_put(&h, keys[i], (void *)(intptr_t)(i + 1), NULL, &err), 0);
        if (h.cap != last_cap) caps_seen++, last_cap = h.cap;
    }
    assert_int_equal(cw_hash_count(&h), (size_t)n);
    assert_true(caps_seen > 5); /* it grew several times */
    assert_true(h.count <= h.cap - h.cap / 8);
    for (int i = 0; i < n; i++) assert_int_equal((intptr_t)cw_hash_get(&h, keys[i]), i + 1);
    char tmp[32];
    for (int i = n; i < n + 1000; i++) assert_false(cw_hash_find(&h, key_of(tmp, sizeof tmp, i), NULL));
    /* Replace keeps the count and returns the old value. */
    void *old = NULL;
    assert_int_equal(cw_hash_put(&h, keys[8], (void *)(intptr_t)-8, &old, &err), 1);
    assert_int_equal((intptr_t)old, 9);
    assert_int_equal((intptr_t)cw_hash_get(&h, keys[8]), -8);
    assert_int_equal(cw_hash_count(&h), (size_t)n);
    /* Delete every odd key, then check, then re-insert them. */
    for (int i = 1; i < n; i += 2) assert_true(cw_hash_remove(&h, keys[i], NULL));
    assert_false(cw_hash_remove(&h, keys[1], NULL));
    assert_int_equal(cw_hash_count(&h), (size_t)(n - n / 2));
    for (int i = 0; i < n; i++) assert_int_equal(cw_hash_find(&h, keys[i], NULL), i % 2 == 0);
    for (int i = 1; i < n; i += 2)
        assert_int_equal(cw_hash_put(&h, keys[i], (void *)(intptr_t)(i + 1), NULL, &err), 0);
    for (int i = 0; i < n; i++) assert_int_equal((intptr_t)cw_hash_get(&h, keys[i]), i == 8 ? -8 : i + 1);
    /* Iteration visits each entry once. */
    unsigned char *seen = calloc((size_t)n, 1);
    struct cw_hash_iter it;
    cw_slice k;
    void *v;
    size_t visits = 0;
    cw_hash_iter_init(&h, &it);
    while (cw_hash_next(&h, &it, &k, &v)) {
        long long idx;
        assert_int_equal(cw_slice_to_i64(cw_slice_sub(k, 8, k.len), &idx), 0);
        assert_true(idx >= 0 && idx < n);
        assert_int_equal(seen[idx], 0);
        seen[idx] = 1;
        visits++;
    }
    assert_int_equal(visits, (size_t)n);
    free(seen);
    /* Clear keeps storage; release frees it. */
    size_t cap = h.cap;
    cw_hash_clear(&h);
    assert_int_equal(cw_hash_count(&h), 0);
    assert_int_equal(h.cap, cap);
    assert_false(cw_hash_find(&h, keys[0], NULL));
    assert_int_equal(cw_hash_put(&h, keys[0], NULL, NULL, &err), 0);
    cw_hash_release(&h);
    assert_int_equal(h.cap, 0);
    assert_false(cw_hash_find(&h, keys[0], NULL));
    cw_arena_destroy(a);
}

static void test_many_keys(void **state)
{
    (void)state;
    run_many_keys(CW_HASH_SIP13, 200000);
    run_many_keys(CW_HASH_FAST, 200000);
}

/* Every key hashes alike: each operation walks one long collision chain. */
static void test_full_collisions(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    enum { N = 300 };
    cw_slice *keys = make_keys(a, N);
    struct cw_hash h;
    struct cw_hash_opts o = {.fn = CW_HASH_DEGENERATE, .fixed_seed = true, .seed = {42, 0}};
    assert_int_equal(cw_hash_init(&h, &o, NULL), 0);
    for (int i = 0; i < N; i++) assert_int_equal(cw_hash_put(&h, keys[i], (void *)(uintptr_t)keys[i].ptr, NULL, NULL), 0);
    for (int i = 0; i < N; i++) assert_ptr_equal(cw_hash_get(&h, keys[i]), keys[i].ptr);
    /* Remove from the middle of the chain, the head and the tail. */
    assert_true(cw_hash_remove(&h, keys[150], NULL));
    assert_true(cw_hash_remove(&h, keys[0], NULL));
    assert_true(cw_hash_remove(&h, keys[N - 1], NULL));
    for (int i = 0; i < N; i++)
        assert_int_equal(cw_hash_find(&h, keys[i], NULL), i != 150 && i != 0 && i != N - 1);
    assert_int_equal(cw_hash_put(&h, keys[150], NULL, NULL, NULL), 0);
    assert_true(cw_hash_find(&h, keys[150], NULL));
    assert_int_equal(cw_hash_count(&h), N - 2);
    cw_hash_release(&h);
    cw_arena_destroy(a);
}

static void test_binary_and_empty_keys(void **state)
{
    (void)state;
    struct cw_hash h;
    assert_int_equal(cw_hash_init(&h, NULL, NULL), 0);
    static const char k1[] = {'a', '\0', 'b'};
    static const char k2[] = {'a', '\0', 'c'};
    static const char k3[] = {'a'};
    static const char k4[] = {'\0', '\0'};
    static const char k5[] = {'\0'};
    assert_int_equal(cw_hash_put(&h, (cw_slice){k1, 3}, (void *)1, NULL, NULL), 0);
    assert_int_equal(cw_hash_put(&h, (cw_slice){k2, 3}, (void *)2, NULL, NULL), 0);
    assert_int_equal(cw_hash_put(&h, (cw_slice){k3, 1}, (void *)3, NULL, NULL), 0);
    assert_int_equal(cw_hash_put(&h, (cw_slice){k4, 2}, (void *)4, NULL, NULL), 0);
    assert_int_equal(cw_hash_put(&h, (cw_slice){k5, 1}, (void *)5, NULL, NULL), 0);
    assert_int_equal(cw_hash_put(&h, CW_SLICE_NULL, (void *)6, NULL, NULL), 0); /* empty key */
    assert_int_equal(cw_hash_count(&h), 6);
    assert_int_equal((intptr_t)cw_hash_get(&h, (cw_slice){k1, 3}), 1);
    assert_int_equal((intptr_t)cw_hash_get(&h, (cw_slice){k2, 3}), 2);
    assert_int_equal((intptr_t)cw_hash_get(&h, (cw_slice){k3, 1}), 3);
    assert_int_equal((intptr_t)cw_hash_get(&h, (cw_slice){k4, 2}), 4);
    assert_int_equal((intptr_t)cw_hash_get(&h, (cw_slice){k5, 1}), 5);
    assert_int_equal((intptr_t)cw_hash_get(&h, CW_LIT("")), 6); /* same empty key, other pointer */
    assert_null(cw_hash_get(&h, (cw_slice){k1, 2})); /* prefix of a key */
    /* A NULL value is still "present". */
    assert_int_equal(cw_hash_put(&h, CW_LIT("null"), NULL, NULL, NULL), 0);
    void *v = (void *)1;
    assert_true(cw_hash_find(&h, CW_LIT("null"), &v));
    assert_null(v);
    cw_hash_release(&h);
}

static void test_max_size(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    cw_slice *keys = make_keys(a, 200);
    struct cw_hash h;
    struct cw_hash_opts o = {.max_entries = 100};
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_hash_init(&h, &o, &err), 0);
    for (int i = 0; i < 100; i++) assert_int_equal(cw_hash_put(&h, keys[i], NULL, NULL, &err), 0);
    size_t cap = h.cap;
    assert_true(cap <= 128); /* never grew past what 100 entries need */
    assert_int_equal(cw_hash_put(&h, keys[100], NULL, NULL, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_err_http_status(&err), 413);
    assert_int_equal(cw_hash_count(&h), 100);
    assert_false(cw_hash_find(&h, keys[100], NULL));
    assert_int_equal(h.cap, cap);
    /* Replacing an existing key still works when full. */
    assert_int_equal(cw_hash_put(&h, keys[5], (void *)5, NULL, &err), 1);
    bool inserted = true;
    assert_non_null(cw_hash_upsert(&h, keys[6], &inserted, &err));
    assert_false(inserted);
    assert_null(cw_hash_upsert(&h, keys[150], &inserted, &err));
    /* After a removal there is room again. */
    assert_true(cw_hash_remove(&h, keys[0], NULL));
    assert_int_equal(cw_hash_put(&h, keys[100], NULL, NULL, &err), 0);
    cw_hash_release(&h);
    /* Reserving past the maximum fails; initial beyond max fails cleanly. */
    o.initial = 101;
    assert_int_equal(cw_hash_init(&h, &o, &err), -1);
    assert_int_equal(cw_hash_count(&h), 0);
    assert_int_equal(cw_hash_put(&h, keys[0], NULL, NULL, &err), 0);
    cw_hash_release(&h);
    /* Pre-sizing avoids growth. */
    o.initial = 100;
    assert_int_equal(cw_hash_init(&h, &o, &err), 0);
    cap = h.cap;
    assert_true(cap >= 100);
    for (int i = 0; i < 100; i++) assert_int_equal(cw_hash_put(&h, keys[i], NULL, NULL, &err), 0);
    assert_int_equal(h.cap, cap);
    cw_hash_release(&h);
    cw_arena_destroy(a);
}

static void test_key_arena_copy(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_hash h;
    struct cw_hash_opts o = {.key_arena = a};
    assert_int_equal(cw_hash_init(&h, &o, NULL), 0);
    char buf[32];
    for (int i = 0; i < 1000; i++) {
        cw_slice k = key_of(buf, sizeof buf, i);
        assert_int_equal(cw_hash_put(&h, k, (void *)(intptr_t)i, NULL, NULL), 0);
        memset(buf, 'x', sizeof buf); /* the map must not depend on buf */
    }
    for (int i = 0; i < 1000; i++) assert_int_equal((intptr_t)cw_hash_get(&h, key_of(buf, sizeof buf, i)), i);
    /* The stored keys point into the arena, not at buf. */
    struct cw_hash_iter it;
    cw_slice k;
    cw_hash_iter_init(&h, &it);
    while (cw_hash_next(&h, &it, &k, NULL)) assert_true(k.ptr < buf || k.ptr >= buf + sizeof buf);
    cw_hash_release(&h);
    cw_arena_destroy(a);

    /* A tiny key arena runs out: clean failure, map unchanged. */
    struct cw_arena *tiny = cw_arena_new(64);
    o.key_arena = tiny;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_hash_init(&h, &o, &err), 0);
    int ok = 0;
    for (int i = 0; i < 100; i++) {
        if (cw_hash_put(&h, key_of(buf, sizeof buf, i), NULL, NULL, &err) < 0) break;
        ok++;
    }
    assert_true(ok > 0 && ok < 100);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_hash_count(&h), (size_t)ok);
    cw_hash_release(&h);
    cw_arena_destroy(tiny);
}

/* Removing during iteration, including chains that wrap around the table
 * end (small table, high load, and the all-collide mode). */
static void run_iter_remove(enum cw_hash_fn fn, int n, uint64_t seed)
{
    struct cw_arena *a = cw_arena_new(0);
    cw_slice *keys = make_keys(a, n);
    struct cw_hash h;
    struct cw_hash_opts o = {.fn = fn, .fixed_seed = true, .seed = {seed, seed ^ 0xabc}};
    assert_int_equal(cw_hash_init(&h, &o, NULL), 0);
    for (int i = 0; i < n; i++) assert_int_equal(cw_hash_put(&h, keys[i], (void *)(intptr_t)i, NULL, NULL), 0);
    unsigned char *seen = calloc((size_t)n, 1);
    struct cw_hash_iter it;
    void *v;
    cw_hash_iter_init(&h, &it);
    while (cw_hash_next(&h, &it, NULL, &v)) {
        intptr_t i = (intptr_t)v;
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        if (i % 3 != 0) cw_hash_iter_remove(&h, &it);
    }
    for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1);
    assert_int_equal(cw_hash_count(&h), (size_t)((n + 2) / 3));
    for (int i = 0; i < n; i++) assert_int_equal(cw_hash_find(&h, keys[i], NULL), i % 3 == 0);
    /* Remove everything via the iterator. */
    cw_hash_iter_init(&h, &it);
    while (cw_hash_next(&h, &it, NULL, NULL)) cw_hash_iter_remove(&h, &it);
    assert_int_equal(cw_hash_count(&h), 0);
    free(seen);
    cw_hash_release(&h);
    cw_arena_destroy(a);
}

static void test_iter_remove(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        run_iter_remove(CW_HASH_FAST, 7, seed);  /* 7 in 8 slots */
        run_iter_remove(CW_HASH_SIP13, 14, seed); /* 14 in 16 slots */
        run_iter_remove(CW_HASH_SIP13, 56, seed);
    }
    run_iter_remove(CW_HASH_DEGENERATE, 50, 5);
    run_iter_remove(CW_HASH_DEGENERATE, 50, 7);  /* chain starts at slot 7 of 64... */
    run_iter_remove(CW_HASH_DEGENERATE, 50, 60); /* ...and wraps past the end */
    run_iter_remove(CW_HASH_SIP13, 5000, 9);
}

/* Random operations on a small key space against a plain array. */
static void run_random_ops(enum cw_hash_fn fn, size_t max)
{
    enum { KEYS = 64, OPS = 200000 };
    char names[KEYS][8];
    cw_slice keys[KEYS];
    intptr_t ref[KEYS]; /* 0 = absent, else value */
    size_t ref_count = 0;
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(names[i], sizeof names[i], "k%d", i);
        keys[i] = (cw_slice){names[i], (size_t)n};
        ref[i] = 0;
    }
    struct cw_hash h;
    struct cw_hash_opts o = {.fn = fn, .max_entries = max};
    assert_int_equal(cw_hash_init(&h, &o, NULL), 0);
    for (int op = 0; op < OPS; op++) {
        int k = (int)(rnd() % KEYS);
        switch (rnd() % 4) {
        case 0:
        case 1: {
            intptr_t val = (intptr_t)(op + 1);
            int r = cw_hash_put(&h, keys[k], (void *)val, NULL, NULL);
            if (ref[k]) {
                assert_int_equal(r, 1);
            } else if (ref_count < max) {
                assert_int_equal(r, 0);
                ref_count++;
            } else {
                assert_int_equal(r, -1);
                break;
            }
            ref[k] = val;
            break;
        }
        case 2: {
            void *old = NULL;
            bool had = cw_hash_remove(&h, keys[k], &old);
            assert_int_equal(had, ref[k] != 0);
            if (had) {
                assert_int_equal((intptr_t)old, ref[k]);
                ref[k] = 0;
                ref_count--;
            }
            break;
        }
        default: {
            void *v = NULL;
            bool has = cw_hash_find(&h, keys[k], &v);
            assert_int_equal(has, ref[k] != 0);
            if (has) assert_int_equal((intptr_t)v, ref[k]);
        }
        }
        assert_int_equal(cw_hash_count(&h), ref_count);
        if (op % 1000 == 0) {
            for (int i = 0; i < KEYS; i++) assert_int_equal(cw_hash_find(&h, keys[i], NULL), ref[i] != 0);
        }
    }
    cw_hash_release(&h);
}

static void test_random_ops(void **state)
{
    (void)state;
    run_random_ops(CW_HASH_SIP13, CW_HASH_DEFAULT_MAX);
    run_random_ops(CW_HASH_FAST, 40);
    run_random_ops(CW_HASH_DEGENERATE, 64);
}

static void test_hset(void **state)
{
    (void)state;
    struct cw_hset s;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_hset_init(&s, NULL, &err), 0);
    assert_int_equal(cw_hset_add(&s, CW_LIT("http://loinc.org"), &err), 1);
    assert_int_equal(cw_hset_add(&s, CW_LIT("http://snomed.info/sct"), &err), 1);
    assert_int_equal(cw_hset_add(&s, CW_LIT("http://loinc.org"), &err), 0);
    assert_int_equal(cw_hset_count(&s), 2);
    assert_true(cw_hset_has(&s, CW_LIT("http://loinc.org")));
    assert_false(cw_hset_has(&s, CW_LIT("http://loinc.org/")));
    assert_true(cw_hset_remove(&s, CW_LIT("http://loinc.org")));
    assert_false(cw_hset_has(&s, CW_LIT("http://loinc.org")));
    cw_hset_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_hash_quality),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_full_collisions),
        cmocka_unit_test(test_binary_and_empty_keys),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_key_arena_copy),
        cmocka_unit_test(test_iter_remove),
        cmocka_unit_test(test_random_ops),
        cmocka_unit_test(test_hset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
