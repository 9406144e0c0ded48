/*
 * bench_store.c — store ingest throughput on SQLite and PostgreSQL.
 *
 *   bench_store [--reps N] [--pg URL] [--threads N] [--only sqlite|postgres] [DIR]
 *
 * DIR holds resources.ndjson as written by the peers' harness
 * (`node ../shared/bench/peers/tasks/fhir-store.js --emit DIR
 *  ../shared/corpus/fhir-r4-examples`: 13,327 resources from the R4 examples
 * and Synthea bundles). PostgreSQL runs when --pg or CW_BENCH_PG gives a URL;
 * its public schema is dropped and recreated before every pass.
 *
 * Tasks (one JSON line each, the peers' format; seconds = median pass):
 *  - store-ingest: every resource created in transactions of 100 or 1000
 *    (stage + put of the JSON text as received, with 12 index rows per
 *    resource), one fresh database per pass. The index rows are FAKE but
 *    realistic in count and shape (2 string, 4 token, 2 date, 2 reference,
 *    1 quantity, 1 uri), derived from the resource's type and id: the
 *    FHIRPath extraction that will produce real rows does not exist yet.
 *    JSON parsing and meta filling are not timed (bench_json measures the codec).
 *  - store-upsert: the same with client ids (PUT semantics), 1000 per
 *    transaction, current versions loaded with cw_store_prefetch per type.
 *  - store-small-txn: N threads each committing one-resource transactions
 *    (2,000 in all), with SQLite group commit on and off (group_max 1).
 *  - store-search: 160 searches (token system|code, reference Type/id,
 *    string prefix, date range), _total=accurate, _count=100, on the
 *    ingested data (fake rows, so only the store's speed is compared).
 *  - thread-handoff: round trips between two threads through a mutex and a
 *    condition variable: what a dedicated writer thread would add per
 *    statement of an interactive transaction (docs/internals/store.md).
 * Never gates CI.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/arena.h"
#include "base/log.h"
#include "benchutil.h"
#include "json/json.h"
#include "store/store.h"

#define MAX_REPS 15
#define ROWS_PER 12

struct res {
    cw_slice type, id, json;
    struct cw_store_index_row rows[ROWS_PER];
};

static struct res *res;
static size_t nres, total_bytes;
static int reps = 3;
static int nthreads = 4;
static size_t nrows_used = ROWS_PER; /* CW_BENCH_ROWS: index rows per resource (experiments) */

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int load(const char *dir, struct cw_arena *a)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/resources.ndjson", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = cw_arena_alloc_bytes(a, (size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    buf[n] = '\0';
    size_t cap = 16384;
    res = calloc(cap, sizeof *res);
    static const char *pt[] = {"Patient", "Encounter", "Practitioner", "Organization"};
    for (char *p = buf, *e; p < buf + n; p = e + 1) {
        e = memchr(p, '\n', (size_t)(buf + n - p));
        if (!e) e = buf + n;
        if (e == p) continue;
        struct cw_json *root;
        struct cw_err err;
        if (cw_json_parse(a, p, (size_t)(e - p), NULL, &root, &err) < 0) continue;
        if (nres == cap) {
            cap *= 2;
            res = realloc(res, cap * sizeof *res);
        }
        struct res *r = &res[nres++];
        r->type = cw_json_text(cw_json_get(root, "resourceType"));
        r->id = cw_json_text(cw_json_get(root, "id"));
        r->json = (cw_slice){p, (size_t)(e - p)};
        total_bytes += r->json.len;
        /* fake, deterministic index rows */
        uint64_t h = mix((uint64_t)nres * 0x9e3779b97f4a7c15ULL);
        char *s1 = cw_arena_printf(a, "%.*s-%llu", CW_SLICE_FMT(r->type), (unsigned long long)(h % 5000));
        char *s2 = cw_arena_printf(a, "name%llu", (unsigned long long)(h % 977));
        char *c1 = cw_arena_printf(a, "%llu-%llu", (unsigned long long)(h % 9000), (unsigned long long)(h % 7));
        char *rid = cw_arena_printf(a, "ref-%llu", (unsigned long long)(h % 2000));
        char *uri = cw_arena_printf(a, "http://example.org/fhir/%.*s/%llu", CW_SLICE_FMT(r->type),
                                    (unsigned long long)(h % 300));
        int64_t d0 = 946684800000000LL + (int64_t)(h % 788400000ULL) * 1000000; /* 2000..2025 */
        struct cw_store_index_row *x = r->rows;
        x[0] = (struct cw_store_index_row){.param = CW_LIT("name"), .type = CW_SP_STRING, .v.string = {.exact = cw_slice_cstr(s1)}};
        x[1] = (struct cw_store_index_row){.param = CW_LIT("text"), .type = CW_SP_STRING, .v.string = {.exact = cw_slice_cstr(s2)}};
        x[2] = (struct cw_store_index_row){.param = CW_LIT("identifier"), .type = CW_SP_TOKEN, .v.token = {CW_LIT("urn:bench"), r->id, CW_LIT("")}};
        x[3] = (struct cw_store_index_row){.param = CW_LIT("code"), .type = CW_SP_TOKEN, .v.token = {CW_LIT("http://loinc.org"), cw_slice_cstr(c1), CW_LIT("Some display text")}};
        x[4] = (struct cw_store_index_row){.param = CW_LIT("status"), .type = CW_SP_TOKEN, .v.token = {CW_LIT("http://hl7.org/fhir/status"), CW_LIT("final"), CW_LIT("")}};
        x[5] = (struct cw_store_index_row){.param = CW_LIT("_tag"), .type = CW_SP_TOKEN, .v.token = {CW_LIT("urn:tags"), CW_LIT("bench"), CW_LIT("")}};
        x[6] = (struct cw_store_index_row){.param = CW_LIT("date"), .type = CW_SP_DATE, .v.date = {d0, d0 + 86400000000LL}};
        x[7] = (struct cw_store_index_row){.param = CW_LIT("issued"), .type = CW_SP_DATE, .v.date = {d0 + 3600000000LL, d0 + 3600000001LL}};
        x[8] = (struct cw_store_index_row){.param = CW_LIT("subject"), .type = CW_SP_REFERENCE, .v.ref = {.type = cw_slice_cstr(pt[h % 4]), .id = cw_slice_cstr(rid)}};
        x[9] = (struct cw_store_index_row){.param = CW_LIT("encounter"), .type = CW_SP_REFERENCE, .v.ref = {.type = CW_LIT("Encounter"), .id = cw_slice_cstr(rid)}};
        x[10] = (struct cw_store_index_row){.param = CW_LIT("value-quantity"), .type = CW_SP_QUANTITY, .v.quantity = {.value = (double)(h % 1000) / 10, .system = CW_LIT("http://unitsofmeasure.org"), .code = CW_LIT("mg")}};
        x[11] = (struct cw_store_index_row){.param = CW_LIT("url"), .type = CW_SP_URI, .v.uri = {cw_slice_cstr(uri)}};
    }
    return 0;
}

static void pg_reset(const char *url)
{
    PGconn *c = PQconnectdb(url);
    PQclear(PQexec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public"));
    PQfinish(c);
}

static struct cw_store *fresh(const char *backend, const char *pg, unsigned group_max)
{
    char url[4200];
    if (strcmp(backend, "sqlite") == 0) {
        system("rm -rf /tmp/cw-bench-store && mkdir -p /tmp/cw-bench-store");
        snprintf(url, sizeof url, "sqlite:/tmp/cw-bench-store/bench.db");
    } else {
        pg_reset(pg);
        snprintf(url, sizeof url, "%s", pg);
    }
    struct cw_store_opts o = {.group_max = group_max};
    struct cw_store *s;
    struct cw_err err;
    if (cw_store_open(url, &o, &s, &err) < 0) {
        fprintf(stderr, "bench_store: open %s: %s\n", backend, err.msg);
        exit(2);
    }
    return s;
}

/* One pass: all resources, per per transaction. Returns seconds, counts errors. */
static double ingest(struct cw_store *s, size_t per, bool upsert, size_t *errors)
{
    struct cw_arena *a = cw_arena_new(0);
    double t0 = cw_bench_now();
    for (size_t at = 0; at < nres; at += per) {
        struct cw_store_txn *t;
        struct cw_err err;
        if (cw_store_begin(s, CW_STORE_WRITE, &t, &err) < 0) {
            (*errors)++;
            continue;
        }
        size_t end = at + per < nres ? at + per : nres;
        bool bad = false;
        if (upsert) {
            /* one lookup per type and batch instead of one per resource */
            cw_slice types[128];
            size_t ntypes = 0;
            for (size_t i = at; i < end; i++) {
                size_t k = 0;
                while (k < ntypes && !cw_slice_eq(types[k], res[i].type)) k++;
                if (k == ntypes && ntypes < 128) types[ntypes++] = res[i].type;
            }
            for (size_t k = 0; k < ntypes && !bad; k++) {
                cw_slice ids[1000];
                size_t nid = 0;
                for (size_t i = at; i < end && nid < 1000; i++)
                    if (cw_slice_eq(res[i].type, types[k])) ids[nid++] = res[i].id;
                if (cw_store_prefetch(t, types[k], ids, nid, &err) < 0) {
                    fprintf(stderr, "bench_store: prefetch: %s\n", err.msg);
                    bad = true;
                }
            }
        }
        for (size_t i = at; i < end && !bad; i++) {
            struct cw_store_write w = {.op = upsert ? CW_STORE_UPDATE : CW_STORE_CREATE, .type = res[i].type,
                                       .id = res[i].id};
            struct cw_store_ticket tk;
            if (cw_store_stage(a, t, &w, &tk, &err) < 0 ||
                cw_store_put(t, &tk, res[i].json, res[i].rows, nrows_used, &err) < 0) {
                fprintf(stderr, "bench_store: %s\n", err.msg);
                bad = true;
            }
        }
        if (bad) {
            cw_store_rollback(t);
            *errors += end - at;
        } else if (cw_store_commit(t, &err) < 0) {
            fprintf(stderr, "bench_store: commit: %s\n", err.msg);
            *errors += end - at;
        }
        cw_arena_reset(a);
    }
    double dt = cw_bench_now() - t0;
    cw_arena_destroy(a);
    return dt;
}

struct small_arg {
    struct cw_store *s;
    size_t from, to;
    size_t errors;
};

static void *small_main(void *p)
{
    struct small_arg *g = p;
    struct cw_arena *a = cw_arena_new(0);
    for (size_t i = g->from; i < g->to; i++) {
        struct cw_store_txn *t;
        struct cw_err err;
        if (cw_store_begin(g->s, CW_STORE_WRITE, &t, &err) < 0) {
            g->errors++;
            continue;
        }
        struct cw_store_write w = {.op = CW_STORE_CREATE, .type = res[i].type};
        struct cw_store_ticket tk;
        if (cw_store_stage(a, t, &w, &tk, &err) < 0 ||
            cw_store_put(t, &tk, res[i].json, res[i].rows, nrows_used, &err) < 0) {
            cw_store_rollback(t);
            g->errors++;
        } else if (cw_store_commit(t, &err) < 0) {
            g->errors++;
        }
        cw_arena_reset(a);
    }
    cw_arena_destroy(a);
    return NULL;
}

static double small_txns(struct cw_store *s, size_t n, size_t *errors)
{
    pthread_t th[64];
    struct small_arg g[64];
    int nt = nthreads < 1 ? 1 : nthreads > 64 ? 64 : nthreads;
    double t0 = cw_bench_now();
    for (int i = 0; i < nt; i++) {
        g[i] = (struct small_arg){.s = s, .from = n * (size_t)i / (size_t)nt, .to = n * (size_t)(i + 1) / (size_t)nt};
        pthread_create(&th[i], NULL, small_main, &g[i]);
    }
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        *errors += g[i].errors;
    }
    return cw_bench_now() - t0;
}

/* ---- the cost a writer thread would add: one round trip per statement ---- */

struct pingpong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int turn; /* 0: caller's, 1: writer's */
    int left;
};

static void *pong_main(void *p)
{
    struct pingpong *pp = p;
    pthread_mutex_lock(&pp->mu);
    while (pp->left > 0) {
        while (pp->turn != 1 && pp->left > 0) pthread_cond_wait(&pp->cv, &pp->mu);
        pp->turn = 0;
        pp->left--;
        pthread_cond_broadcast(&pp->cv);
    }
    pthread_mutex_unlock(&pp->mu);
    return NULL;
}

static void run_handoff(void)
{
    enum { N = 100000 };
    double v[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        struct pingpong pp = {.left = N};
        pthread_mutex_init(&pp.mu, NULL);
        pthread_cond_init(&pp.cv, NULL);
        pthread_t th;
        pthread_create(&th, NULL, pong_main, &pp);
        double t0 = cw_bench_now();
        pthread_mutex_lock(&pp.mu);
        for (int i = 0; i < N; i++) {
            pp.turn = 1;
            pthread_cond_broadcast(&pp.cv);
            while (pp.turn != 0) pthread_cond_wait(&pp.cv, &pp.mu);
        }
        pthread_mutex_unlock(&pp.mu);
        v[r] = cw_bench_now() - t0;
        pthread_join(th, NULL);
        pthread_cond_destroy(&pp.cv);
        pthread_mutex_destroy(&pp.mu);
    }
    cw_bench_report("thread-handoff", "c-condvar", N, 0, cw_bench_median(v, reps), 0,
                    "\"note\":\"round trips caller->writer thread->caller\"");
}

static void run_ingest(const char *backend, const char *pg, size_t per, bool upsert)
{
    double v[MAX_REPS], cpu[MAX_REPS];
    size_t errors = 0;
    for (int r = 0; r < reps; r++) {
        struct cw_store *s = fresh(backend, pg, 0);
        double c0 = cpu_now();
        v[r] = ingest(s, per, upsert, &errors);
        cpu[r] = cpu_now() - c0;
        cw_store_close(s);
        fprintf(stderr, "bench_store: %s %s per %zu pass %d: %.3f s (%.0f/s), process cpu %.3f s\n", backend,
                upsert ? "upsert" : "create", per, r + 1, v[r], (double)nres / v[r], cpu[r]);
    }
    double med = cw_bench_median(v, reps);
    double cmed = cw_bench_median(cpu, reps);
    char peer[64], extra[256];
    snprintf(peer, sizeof peer, "c-%s-%zu", backend, per);
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"per_txn\":%zu,\"index_rows_per_resource\":%zu,\"index_rows\":\"fake\","
             "\"process_cpu_s\":%.3f",
             reps, per, nrows_used, cmed);
    cw_bench_report(upsert ? "store-upsert" : "store-ingest", peer, nres, total_bytes, med,
                    errors / (size_t)reps, extra);
}

static void run_small(const char *backend, const char *pg, unsigned group_max)
{
    const size_t n = nres < 2000 ? nres : 2000;
    double v[MAX_REPS];
    size_t errors = 0;
    for (int r = 0; r < reps; r++) {
        struct cw_store *s = fresh(backend, pg, group_max);
        v[r] = small_txns(s, n, &errors);
        cw_store_close(s);
    }
    double med = cw_bench_median(v, reps);
    char peer[64], extra[256];
    snprintf(peer, sizeof peer, "c-%s%s", backend,
             strcmp(backend, "sqlite") ? "" : group_max == 1 ? "-nogroup" : "-group");
    snprintf(extra, sizeof extra, "\"reps\":%d,\"threads\":%d,\"per_txn\":1,\"group_max\":%u", reps, nthreads,
             group_max);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += res[i].json.len;
    cw_bench_report("store-small-txn", peer, n, bytes, med, errors / (size_t)reps, extra);
}

/* ---- searches over the ingested data (fake index rows: see the header) ---- */

static void run_search(const char *backend, const char *pg)
{
    struct cw_store *s = fresh(backend, pg, 0);
    size_t errors = 0;
    ingest(s, 1000, false, &errors);
    struct cw_arena *a = cw_arena_new(0);
    enum { PER_KIND = 40, KINDS = 4 };
    double v[MAX_REPS];
    long long matches = 0;
    for (int r = 0; r < reps; r++) {
        matches = 0;
        double t0 = cw_bench_now();
        for (int kind = 0; kind < KINDS; kind++) {
            for (int q = 0; q < PER_KIND; q++) {
                size_t i = ((size_t)q * 7919 + (size_t)kind * 104729) % nres;
                const struct res *x = &res[i];
                struct cw_store_value vals[2] = {{0}};
                struct cw_store_sp sp[2] = {{0}};
                size_t nsp = 1;
                char buf[160], buf2[64];
                if (kind == 0) { /* token system|code */
                    snprintf(buf, sizeof buf, "http://loinc.org|%.*s", CW_SLICE_FMT(x->rows[3].v.token.code));
                    vals[0].text = cw_slice_cstr(buf);
                    sp[0] = (struct cw_store_sp){.code = CW_LIT("code"), .type = CW_SP_TOKEN, .values = vals, .nvalues = 1};
                } else if (kind == 1) { /* reference Type/id */
                    snprintf(buf, sizeof buf, "%.*s/%.*s", CW_SLICE_FMT(x->rows[8].v.ref.type), CW_SLICE_FMT(x->rows[8].v.ref.id));
                    vals[0].text = cw_slice_cstr(buf);
                    sp[0] = (struct cw_store_sp){.code = CW_LIT("subject"), .type = CW_SP_REFERENCE, .values = vals, .nvalues = 1};
                } else if (kind == 2) { /* string prefix */
                    snprintf(buf, sizeof buf, "%.*s", (int)(x->rows[0].v.string.exact.len > 3 ? x->rows[0].v.string.exact.len - 2 : 1),
                             x->rows[0].v.string.exact.ptr);
                    vals[0].text = cw_slice_cstr(buf);
                    sp[0] = (struct cw_store_sp){.code = CW_LIT("name"), .type = CW_SP_STRING, .values = vals, .nvalues = 1};
                } else { /* date range: one month around the resource's date */
                    char d[32];
                    cw_store_format_instant(x->rows[6].v.date.lo, d);
                    snprintf(buf, sizeof buf, "%.7s", d);
                    snprintf(buf2, sizeof buf2, "%.7s", d);
                    vals[0] = (struct cw_store_value){.prefix = CW_PFX_GE, .text = cw_slice_cstr(buf)};
                    vals[1] = (struct cw_store_value){.prefix = CW_PFX_LE, .text = cw_slice_cstr(buf2)};
                    sp[0] = (struct cw_store_sp){.code = CW_LIT("date"), .type = CW_SP_DATE, .values = &vals[0], .nvalues = 1};
                    sp[1] = (struct cw_store_sp){.code = CW_LIT("date"), .type = CW_SP_DATE, .values = &vals[1], .nvalues = 1};
                    nsp = 2;
                }
                struct cw_store_plan plan = {.type = x->type, .params = sp, .nparams = nsp, .count = 100,
                                             .count_set = true, .total = CW_TOTAL_ACCURATE};
                struct cw_store_txn *t;
                struct cw_store_page page;
                struct cw_err err;
                if (cw_store_begin(s, CW_STORE_READ, &t, &err) < 0 ||
                    cw_store_search(a, t, &plan, &page, &err) < 0) {
                    fprintf(stderr, "bench_store: search: %s\n", err.msg);
                    errors++;
                } else {
                    matches += page.total;
                }
                if (t) cw_store_commit(t, &err);
                cw_arena_reset(a);
            }
        }
        v[r] = cw_bench_now() - t0;
    }
    cw_arena_destroy(a);
    cw_store_close(s);
    char peer[64], extra[200];
    snprintf(peer, sizeof peer, "c-%s", backend);
    snprintf(extra, sizeof extra, "\"reps\":%d,\"kinds\":\"token,reference,string-prefix,date-range\",\"search_results\":%lld,\"resources\":%zu",
             reps, matches, nres);
    cw_bench_report("store-search", peer, PER_KIND * KINDS, 0, cw_bench_median(v, reps), errors, extra);
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp/cw-store-bench";
    const char *pg = getenv("CW_BENCH_PG");
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) pg = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) nthreads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else dir = argv[i];
    }
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    cw_log_threshold = getenv("CW_BENCH_DEBUG") ? CW_LOG_DEBUG : CW_LOG_WARN;
    if (getenv("CW_BENCH_ROWS")) nrows_used = (size_t)atoi(getenv("CW_BENCH_ROWS"));
    if (nrows_used > ROWS_PER) nrows_used = ROWS_PER;
    struct cw_arena *a = cw_arena_new((size_t)2 << 30);
    if (load(dir, a) < 0 || nres == 0) {
        fprintf(stderr, "bench_store: no %s/resources.ndjson (see the header of bench/bench_store.c)\n", dir);
        return 2;
    }
    fprintf(stderr, "bench_store: %zu resources, %.1f MB, %d index rows each; reps %d\n", nres,
            (double)total_bytes / 1e6, ROWS_PER, reps);
    if (!only || strcmp(only, "handoff") == 0) run_handoff();
    const char *backends[2] = {"sqlite", "postgres"};
    for (int b = 0; b < 2; b++) {
        if (only && strcmp(only, backends[b]) != 0) continue;
        if (b == 1 && !(pg && *pg)) {
            fprintf(stderr, "bench_store: PostgreSQL skipped (no --pg URL or CW_BENCH_PG)\n");
            continue;
        }
        run_ingest(backends[b], pg, 100, false);
        run_ingest(backends[b], pg, 1000, false);
        run_ingest(backends[b], pg, 1000, true);
        run_search(backends[b], pg);
        run_small(backends[b], pg, CW_STORE_DEFAULT_GROUP_MAX);
        if (b == 0) run_small(backends[b], pg, 1);
    }
    free(res);
    cw_arena_destroy(a);
    return 0;
}
