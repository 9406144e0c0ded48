/*
 * bench_base.c — throughput of the base primitives: hashing (SipHash-1-3
 * vs the fast hash), the hash map (insert, hit, miss), FHIR dateTime
 * parsing, base64 and UUID v4 generation. Synthetic inputs (no corpus);
 * one JSON line per task, the median of 5 timed passes after 1 warm-up.
 */
#include "benchutil.h"

#include "base/arena.h"
#include "base/base64.h"
#include "base/datetime.h"
#include "base/hash.h"
#include "base/uuid.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPS 5

static volatile uint64_t sink;

typedef void (*pass_fn)(void *ctx);

static double time_passes(pass_fn fn, void *ctx)
{
    double t[REPS];
    fn(ctx); /* warm-up */
    for (int r = 0; r < REPS; r++) {
        double t0 = cw_bench_now();
        fn(ctx);
        t[r] = cw_bench_now() - t0;
    }
    return cw_bench_median(t, REPS);
}

struct keys {
    cw_slice *k;
    size_t n;
    size_t bytes;
};

static struct keys make_keys(struct cw_arena *a, size_t n, const char *prefix)
{
    struct keys ks = {cw_arena_array(a, n, sizeof(cw_slice)), n, 0};
    for (size_t i = 0; i < n; i++) {
        ks.k[i] = cw_slice_cstr(cw_arena_printf(a, "%s%lu", prefix, (unsigned long)(i * 2654435761u % 100000000)));
        ks.bytes += ks.k[i].len;
    }
    return ks;
}

static struct keys *g_keys;
static void pass_sip(void *ctx)
{
    (void)ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < g_keys->n; i++) acc += cw_hash_sip13(g_keys->k[i].ptr, g_keys->k[i].len, 1, 2);
    sink = acc;
}
static void pass_fast(void *ctx)
{
    (void)ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < g_keys->n; i++) acc += cw_hash_fast(g_keys->k[i].ptr, g_keys->k[i].len, 1);
    sink = acc;
}

struct map_ctx {
    enum cw_hash_fn fn;
    size_t initial;
    struct cw_hash h;
    struct keys *miss;
};
static void pass_insert(void *ctx)
{
    struct map_ctx *m = ctx;
    struct cw_hash_opts o = {.fn = m->fn, .max_entries = g_keys->n, .initial = m->initial};
    cw_hash_release(&m->h);
    cw_hash_init(&m->h, &o, NULL);
    for (size_t i = 0; i < g_keys->n; i++) cw_hash_put(&m->h, g_keys->k[i], (void *)(uintptr_t)i, NULL, NULL);
}
static void pass_hit(void *ctx)
{
    struct map_ctx *m = ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < g_keys->n; i++) acc += (uintptr_t)cw_hash_get(&m->h, g_keys->k[i]);
    sink = acc;
}
static void pass_miss(void *ctx)
{
    struct map_ctx *m = ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < m->miss->n; i++) acc += cw_hash_find(&m->h, m->miss->k[i], NULL);
    sink = acc;
}

static void pass_dt(void *ctx)
{
    struct keys *ks = ctx;
    struct cw_dt v;
    uint64_t acc = 0;
    for (size_t i = 0; i < ks->n; i++) {
        if (cw_dt_parse(ks->k[i], CW_DT_DATETIME, 0, &v, NULL) == 0) acc += (uint64_t)cw_dt_range(&v, 0).low;
    }
    sink = acc;
}

struct b64_ctx {
    cw_slice raw, text;
    unsigned char *out;
    char *tout;
};
static void pass_b64_enc(void *ctx)
{
    struct b64_ctx *b = ctx;
    size_t n;
    cw_base64_encode(b->raw, 0, b->tout, cw_base64_encoded_len(b->raw.len, 0), &n, NULL);
    sink = n;
}
static void pass_b64_dec(void *ctx)
{
    struct b64_ctx *b = ctx;
    size_t n;
    cw_base64_decode(b->text, 0, b->out, b->raw.len, &n, NULL);
    sink = n;
}

static void pass_uuid(void *ctx)
{
    size_t n = *(size_t *)ctx;
    struct cw_uuid u;
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        cw_uuid_v4(&u, NULL);
        acc += u.b[0];
    }
    sink = acc;
}

static void report(const char *task, size_t items, size_t bytes, double s, const char *extra)
{
    cw_bench_report(task, "causeway", items, bytes, s, 0, extra);
    fprintf(stderr, "%-22s %10.1f M items/s %9.1f MB/s\n", task, (double)items / s / 1e6,
            (double)bytes / s / 1e6);
}

int main(void)
{
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    const size_t N = 1000000;
    struct keys ids = make_keys(a, N, "Patient/");
    struct keys miss = make_keys(a, N, "Observation/");
    g_keys = &ids;
    char extra[128];
    snprintf(extra, sizeof extra, "\"reps\":%d,\"warmup\":1,\"key_bytes_avg\":%.1f", REPS, (double)ids.bytes / N);

    report("hash-siphash13", N, ids.bytes, time_passes(pass_sip, NULL), extra);
    report("hash-fast", N, ids.bytes, time_passes(pass_fast, NULL), extra);
    /* Long inputs: 1 KiB blocks. */
    struct keys big = {cw_arena_array(a, 4096, sizeof(cw_slice)), 4096, 0};
    char *blob = cw_arena_alloc(a, 4096 * 1024);
    for (size_t i = 0; i < 4096 * 1024; i++) blob[i] = (char)(i * 131 + 7);
    for (size_t i = 0; i < 4096; i++) big.k[i] = (cw_slice){blob + i * 1024, 1024}, big.bytes += 1024;
    g_keys = &big;
    report("hash-siphash13-1k", big.n, big.bytes, time_passes(pass_sip, NULL), "\"reps\":5,\"warmup\":1");
    report("hash-fast-1k", big.n, big.bytes, time_passes(pass_fast, NULL), "\"reps\":5,\"warmup\":1");
    g_keys = &ids;

    /* A request-sized map (10k keys, cache resident) and a large one. */
    struct keys small = {ids.k, 10000, 0}, small_miss = {miss.k, 10000, 0};
    for (size_t i = 0; i < small.n; i++) small.bytes += small.k[i].len, small_miss.bytes += small_miss.k[i].len;
    for (int f = 0; f < 2; f++) {
        enum cw_hash_fn fn = f ? CW_HASH_FAST : CW_HASH_SIP13;
        struct map_ctx m = {.fn = fn, .miss = &small_miss};
        cw_hash_init(&m.h, NULL, NULL);
        g_keys = &small;
        char task[64];
        snprintf(task, sizeof task, "hashmap10k-insert-%s", f ? "fast" : "sip13");
        report(task, small.n, small.bytes, time_passes(pass_insert, &m), "\"reps\":5,\"warmup\":1");
        m.initial = small.n;
        snprintf(task, sizeof task, "hashmap10k-insert-presized-%s", f ? "fast" : "sip13");
        report(task, small.n, small.bytes, time_passes(pass_insert, &m), "\"reps\":5,\"warmup\":1");
        snprintf(task, sizeof task, "hashmap10k-hit-%s", f ? "fast" : "sip13");
        report(task, small.n, small.bytes, time_passes(pass_hit, &m), "\"reps\":5,\"warmup\":1");
        snprintf(task, sizeof task, "hashmap10k-miss-%s", f ? "fast" : "sip13");
        report(task, small.n, small_miss.bytes, time_passes(pass_miss, &m), "\"reps\":5,\"warmup\":1");
        cw_hash_release(&m.h);
    }
    g_keys = &ids;

    static const enum cw_hash_fn fns[2] = {CW_HASH_SIP13, CW_HASH_FAST};
    static const char *const names[2] = {"sip13", "fast"};
    for (int f = 0; f < 2; f++) {
        struct map_ctx m = {.fn = fns[f], .miss = &miss};
        cw_hash_init(&m.h, NULL, NULL);
        char task[64];
        snprintf(task, sizeof task, "hashmap-insert-%s", names[f]);
        report(task, N, ids.bytes, time_passes(pass_insert, &m), extra);
        snprintf(task, sizeof task, "hashmap-hit-%s", names[f]);
        report(task, N, ids.bytes, time_passes(pass_hit, &m), extra);
        snprintf(task, sizeof task, "hashmap-miss-%s", names[f]);
        report(task, N, miss.bytes, time_passes(pass_miss, &m), extra);
        cw_hash_release(&m.h);
    }

    /* dateTime parse + range over a mix of precisions. */
    struct keys dts = {cw_arena_array(a, N, sizeof(cw_slice)), N, 0};
    static const char *const tails[] = {"", "-03", "-03-05", "-03-05T10:20:30Z", "-03-05T10:20:30.123+01:00"};
    for (size_t i = 0; i < N; i++) {
        dts.k[i] = cw_slice_cstr(cw_arena_printf(a, "%04lu%s", (unsigned long)(1900 + i % 200), tails[i % 5]));
        dts.bytes += dts.k[i].len;
    }
    report("datetime-parse-range", N, dts.bytes, time_passes(pass_dt, &dts), "\"reps\":5,\"warmup\":1");

    struct b64_ctx b;
    size_t raw_n = (size_t)16 << 20;
    char *raw = malloc(raw_n);
    for (size_t i = 0; i < raw_n; i++) raw[i] = (char)(i * 2654435761u >> 13);
    b.raw = (cw_slice){raw, raw_n};
    b.tout = malloc(cw_base64_encoded_len(raw_n, 0));
    size_t tn;
    cw_base64_encode(b.raw, 0, b.tout, cw_base64_encoded_len(raw_n, 0), &tn, NULL);
    b.text = (cw_slice){b.tout, tn};
    b.out = malloc(raw_n);
    report("base64-encode", 1, raw_n, time_passes(pass_b64_enc, &b), "\"reps\":5,\"warmup\":1");
    /* decode writes into out; encode rewrites tout with the same text */
    report("base64-decode", 1, tn, time_passes(pass_b64_dec, &b), "\"reps\":5,\"warmup\":1");
    free(b.out);
    free(b.tout);
    free(raw);

    size_t nu = 200000;
    report("uuid-v4", nu, nu * 16, time_passes(pass_uuid, &nu), "\"reps\":5,\"warmup\":1");
    cw_arena_destroy(a);
    return 0;
}
