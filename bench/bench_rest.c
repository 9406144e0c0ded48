/*
 * bench_rest.c — the FHIR REST service in-process (cw_rest_handle: routing,
 * parsing, validation, FHIRPath index extraction, store, response), without
 * sockets. HTTP itself is measured with wrk (bench/rest_http.sh).
 *
 *   bench_rest ingest [--reps N] [--pg URL] [--copies K] SYNTHEA_DIR
 *       rest-tx-ingest: every Synthea bundle POSTed as a transaction, K
 *       copies, fresh store per pass; plus the stages alone (JSON parse,
 *       validation, index extraction) over the same entries.
 *   bench_rest search [--pg URL] [--target N] [--queries Q] [--store-dir DIR] SYNTHEA_DIR
 *       rest-search: load copies of the Synthea bundles until at least N
 *       resources are stored (default 1,000,000), then Q searches of each
 *       kind (patient + code + date; patient + code; code + date, _count 10;
 *       name) with per-search latency p50/p99 in milliseconds. With
 *       --store-dir (SQLite) the store lives in DIR/bench.db and is kept:
 *       a later run continues from what is there (a 1M load takes long);
 *       --pg-keep does the same on PostgreSQL (the schema is not reset).
 *   bench_rest create [--pg URL] [--queries N] SYNTHEA_DIR
 *       rest-create: the Synthea bundles loaded, then N single creates of
 *       an Observation (one transaction and commit each), one at a time.
 *   bench_rest fhir-store --reps R --warmup W --queries FILE DIR
 *       the peers' fhir-store task (../shared/bench/peers/README.md,
 *       "Plugging in the C implementation"): a fresh store, every resource
 *       of DIR/resources.ndjson created (PUT Type/id, Prefer
 *       return=minimal, validation on), then every query of FILE with all
 *       its matches read (following next links, _count=1000); one JSON line.
 *
 * PostgreSQL: --pg URL or CW_BENCH_PG; the database's public schema is
 * dropped and recreated before every pass. Output: one JSON line per task
 * (the peers' format) on stdout; progress on stderr. Never gates CI.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/log.h"
#include "benchutil.h"
#include "json/json.h"
#include "search/search.h"
#include "server/rest_int.h"
#include "store/store.h"

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- a store + service per pass ---- */

struct env {
    struct cw_store *store;
    struct cw_rest *rest;
    char dir[256];
    bool keep; /* dir is --store-dir: not removed */
    bool validate;
};

static const char *g_store_dir; /* --store-dir */
static bool g_pg_keep;          /* --pg-keep */

static void pg_reset(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_rest: cannot connect to PostgreSQL: %s", PQerrorMessage(c));
        exit(2);
    }
    PQclear(PQexec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public"));
    PQfinish(c);
}

static int env_open(struct env *e, const char *pg, bool validate)
{
    memset(e, 0, sizeof *e);
    char url[1100];
    if (pg) {
        if (g_pg_keep) e->keep = true;
        else pg_reset(pg);
        snprintf(url, sizeof url, "%s", pg);
    } else if (g_store_dir) {
        snprintf(e->dir, sizeof e->dir, "%s", g_store_dir);
        if (mkdir(e->dir, 0700) < 0 && access(e->dir, W_OK) < 0) return -1;
        e->keep = true;
        snprintf(url, sizeof url, "sqlite:%s/bench.db", e->dir);
    } else {
        snprintf(e->dir, sizeof e->dir, "/tmp/cw-bench-rest.XXXXXX");
        if (!mkdtemp(e->dir)) return -1;
        snprintf(url, sizeof url, "sqlite:%s/bench.db", e->dir);
    }
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_store_opts so = {0};
    if (cw_store_open(url, &so, &e->store, &err) < 0) {
        fprintf(stderr, "bench_rest: open %s: %s\n", url, err.msg);
        return -1;
    }
    struct cw_rest_opts ro = {.validate = validate};
    if (cw_rest_new(e->store, &ro, &e->rest, &err) < 0) {
        fprintf(stderr, "bench_rest: %s\n", err.msg);
        return -1;
    }
    e->validate = validate;
    return 0;
}

static void env_close(struct env *e)
{
    cw_rest_free(e->rest);
    cw_store_close(e->store);
    if (e->dir[0] && !e->keep) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_rest: cannot remove %s\n", e->dir);
    }
}

struct hdrs {
    const char *content_type;
    const char *prefer;
};

static cw_slice get_hdr(void *ctx, const char *name)
{
    const struct hdrs *h = ctx;
    if (strcasecmp(name, "Content-Type") == 0) return cw_slice_cstr(h->content_type);
    if (strcasecmp(name, "Prefer") == 0) return cw_slice_cstr(h->prefer);
    return CW_SLICE_NULL;
}

/* One request; the response body is released unless keep is given. */
static int request(struct env *e, struct cw_arena *a, const char *method, cw_slice path, cw_slice query,
                   cw_slice body, const char *prefer, struct rest_resp *keep)
{
    struct hdrs h = {body.len ? "application/fhir+json" : NULL, prefer};
    struct rest_req q = {.a = a, .method = method, .path = path, .query = query, .body = body,
                         .header = get_hdr, .hctx = &h, .base = CW_LIT("http://bench/fhir")};
    struct rest_resp resp;
    cw_rest_handle(e->rest, &q, &resp);
    int st = resp.status;
    if (keep) *keep = resp;
    else cw_buf_release(&resp.body);
    return st;
}

/* ---- inputs ---- */

static struct cw_bench_file *bundles;
static size_t nbundles, bundle_resources, bundle_bytes;

static void load_bundles(const char *dir)
{
    if (cw_bench_load_dir(dir, "json", &bundles, &nbundles) < 0 || !nbundles) {
        fprintf(stderr, "bench_rest: no bundles in %s\n", dir);
        exit(2);
    }
    /* the shared Practitioner/Organization bundles first */
    for (size_t i = 0, k = 0; i < nbundles; i++)
        if (strstr(bundles[i].path, "Information")) {
            struct cw_bench_file t = bundles[k];
            bundles[k++] = bundles[i];
            bundles[i] = t;
        }
    struct cw_arena *a = cw_arena_new(0);
    for (size_t i = 0; i < nbundles; i++) {
        struct cw_json *j;
        struct cw_err err;
        if (cw_json_parse(a, bundles[i].data, bundles[i].len, NULL, &j, &err) == 0)
            bundle_resources += cw_json_get(j, "entry") ? cw_json_get(j, "entry")->len : 0;
        bundle_bytes += bundles[i].len;
        cw_arena_reset(a);
    }
    cw_arena_destroy(a);
}

/* ---- ingest ---- */

static void stages(void)
{
    /* The parts of a write alone, over the same entries, single thread. */
    struct cw_arena *a = cw_arena_new(0);
    double t_parse = 0, t_valid = 0, t_index = 0;
    size_t n = 0, rows = 0, invalid = 0;
    for (size_t i = 0; i < nbundles; i++) {
        struct cw_json *j;
        struct cw_err err;
        double t0 = cw_bench_now();
        if (cw_json_parse(a, bundles[i].data, bundles[i].len, NULL, &j, &err) < 0) continue;
        t_parse += cw_bench_now() - t0;
        const struct cw_json *entries = cw_json_get(j, "entry");
        for (uint32_t k = 0; entries && k < entries->len; k++) {
            const struct cw_json *r = cw_json_get(&entries->u.items[k], "resource");
            struct cw_err issues[REST_MAX_ISSUES];
            double v0 = cw_bench_now();
            invalid += rest_validate(r, issues, REST_MAX_ISSUES) > 0;
            double v1 = cw_bench_now();
            struct cw_store_index_row *ir;
            size_t nr;
            if (cw_search_index(a, r, NULL, &ir, &nr, &err) == 0) rows += nr;
            t_index += cw_bench_now() - v1;
            t_valid += v1 - v0;
            n++;
        }
        cw_arena_reset(a);
    }
    cw_arena_destroy(a);
    char extra[512];
    snprintf(extra, sizeof extra,
             "\"parse_resources_per_s\":%.0f,\"validate_resources_per_s\":%.0f,"
             "\"index_resources_per_s\":%.0f,\"index_rows\":%zu,\"rows_per_resource\":%.1f,\"invalid\":%zu",
             n / t_parse, n / t_valid, n / t_index, rows, (double)rows / (double)n, invalid);
    cw_bench_report("rest-write-stages", "c", n, bundle_bytes, t_parse + t_valid + t_index, 0, extra);
}

static void ingest(const char *pg, int reps, int copies, bool validate)
{
    double secs[16], cpus[16];
    size_t errors = 0;
    for (int r = 0; r < reps; r++) {
        struct env e;
        if (env_open(&e, pg, validate) < 0) exit(2);
        struct cw_arena *a = cw_arena_new(0);
        double c0 = cpu_now(), t0 = cw_bench_now();
        for (int c = 0; c < copies; c++)
            for (size_t i = 0; i < nbundles; i++) {
                int st = request(&e, a, "POST", CW_LIT(""), CW_LIT(""),
                                 (cw_slice){bundles[i].data, bundles[i].len}, NULL, NULL);
                if (st != 200) errors++;
                cw_arena_reset(a);
            }
        secs[r] = cw_bench_now() - t0;
        cpus[r] = cpu_now() - c0;
        cw_arena_destroy(a);
        env_close(&e);
        fprintf(stderr, "  pass %d: %.2f s wall, %.2f s CPU\n", r + 1, secs[r], cpus[r]);
    }
    double s = cw_bench_median(secs, reps), cpu = cw_bench_median(cpus, reps);
    size_t items = bundle_resources * (size_t)copies;
    char extra[300];
    snprintf(extra, sizeof extra, "\"reps\":%d,\"copies\":%d,\"bundles\":%zu,\"validate\":%s,\"process_cpu_s\":%.3f,"
             "\"resources_per_cpu_s\":%.0f",
             reps, copies, nbundles * (size_t)copies, validate ? "true" : "false", cpu, items / cpu);
    cw_bench_report("rest-tx-ingest", pg ? "c-postgres" : "c-sqlite", items, bundle_bytes * (size_t)copies, s,
                    errors, extra);
}

/* ---- search latency on a big store ---- */

struct pat {
    char id[40];
};

/* What a kept store (--store-dir) holds already: live resources and Patient ids. */
static size_t resume_store(const char *dir, struct pat **pats, size_t *npat, size_t *cap)
{
    char path[400];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    sqlite3 *db = NULL;
    size_t stored = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT type, id FROM resource_current WHERE deleted = 0", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            stored++;
            const char *type = (const char *)sqlite3_column_text(st, 0);
            const char *id = (const char *)sqlite3_column_text(st, 1);
            if (!type || !id || strcmp(type, "Patient") != 0) continue;
            if (*npat == *cap) *pats = realloc(*pats, (*cap *= 2) * sizeof **pats);
            snprintf((*pats)[(*npat)++].id, sizeof (*pats)[0].id, "%s", id);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return stored;
}

/* The same for a kept PostgreSQL schema (--pg-keep). */
static size_t resume_pg(const char *url, struct pat **pats, size_t *npat, size_t *cap)
{
    PGconn *c = PQconnectdb(url);
    size_t stored = 0;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SELECT type, id FROM resource_current WHERE deleted = 0");
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            int n = PQntuples(r);
            for (int i = 0; i < n; i++) {
                stored++;
                if (strcmp(PQgetvalue(r, i, 0), "Patient") != 0) continue;
                if (*npat == *cap) *pats = realloc(*pats, (*cap *= 2) * sizeof **pats);
                snprintf((*pats)[(*npat)++].id, sizeof (*pats)[0].id, "%s", PQgetvalue(r, i, 1));
            }
        }
        PQclear(r);
    }
    PQfinish(c);
    return stored;
}

static void search_latency(const char *pg, size_t target, int nq)
{
    struct env e;
    if (env_open(&e, pg, false) < 0) exit(2);
    struct cw_arena *a = cw_arena_new(0);
    size_t stored = 0, npat = 0, cap = 1024;
    struct pat *pats = malloc(cap * sizeof *pats);
    if (e.keep) {
        stored = pg ? resume_pg(pg, &pats, &npat, &cap) : resume_store(e.dir, &pats, &npat, &cap);
        fprintf(stderr, "  the kept store holds %zu resources, %zu patients\n", stored, npat);
    }
    size_t before = stored;
    double t0 = cw_bench_now(), c0 = cpu_now();
    int copy = 0;
    while (stored < target) {
        for (size_t i = 0; i < nbundles; i++) {
            struct rest_resp resp;
            int st = request(&e, a, "POST", CW_LIT(""), CW_LIT(""), (cw_slice){bundles[i].data, bundles[i].len},
                             NULL, &resp);
            if (st == 200) {
                /* the Patient's id: entry 0 of a patient bundle */
                struct cw_json *j;
                struct cw_err err;
                if (cw_json_parse(a, resp.body.ptr, resp.body.len, NULL, &j, &err) == 0) {
                    const struct cw_json *en = cw_json_get(j, "entry");
                    stored += en ? en->len : 0;
                    cw_slice loc = cw_json_text(cw_json_get(cw_json_get(cw_json_at(en, 0), "response"), "location"));
                    if (cw_slice_starts_with(loc, CW_LIT("Patient/")) && loc.len > 8) {
                        long sl = cw_slice_index(cw_slice_sub(loc, 8, loc.len), '/');
                        if (npat == cap) pats = realloc(pats, (cap *= 2) * sizeof *pats);
                        snprintf(pats[npat++].id, sizeof pats[0].id, "%.*s", (int)sl, loc.ptr + 8);
                    }
                }
            }
            cw_buf_release(&resp.body);
            cw_arena_reset(a);
        }
        copy++;
        fprintf(stderr, "  loaded %zu resources (%d copies, %.0f s)\n", stored, copy, cw_bench_now() - t0);
    }
    double load_s = cw_bench_now() - t0, load_cpu = cpu_now() - c0;
    char extra[600];
    size_t loaded = stored - before;
    snprintf(extra, sizeof extra, "\"copies\":%d,\"validate\":false,\"process_cpu_s\":%.1f,\"resources_per_cpu_s\":%.0f,"
             "\"resources_before\":%zu",
             copy, load_cpu, load_cpu > 0 ? loaded / load_cpu : 0.0, before);
    if (copy > 0)
        cw_bench_report("rest-bulk-load", pg ? "c-postgres" : "c-sqlite", loaded, bundle_bytes * (size_t)copy,
                        load_s, 0, extra);
    if (npat == 0) {
        fprintf(stderr, "bench_rest: no patients stored\n");
        exit(2);
    }
    static const char *codes[] = {"8302-2", "29463-7", "72514-3", "8867-4", "55284-4"};
    static const char *kinds[] = {"patient+code+date", "patient+code", "code+date(_count=10)", "name"};
    double *lat = malloc((size_t)nq * sizeof *lat), *cpu = malloc((size_t)nq * sizeof *cpu);
    uint64_t rnd = 0x9e3779b97f4a7c15ULL;
    for (int k = 0; k < 4; k++) {
        size_t results = 0, errs = 0;
        double t1 = cw_bench_now();
        for (int i = 0; i < nq; i++) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            const struct pat *p = &pats[(rnd >> 33) % npat];
            const char *code = codes[(rnd >> 20) % 5];
            int year = 2000 + (int)((rnd >> 40) % 20);
            char q[400];
            const char *type = "Observation";
            switch (k) {
            case 0: snprintf(q, sizeof q, "patient=%s&code=http://loinc.org|%s&date=ge%d-01-01", p->id, code, year); break;
            case 1: snprintf(q, sizeof q, "patient=%s&code=http://loinc.org|%s", p->id, code); break;
            case 2: snprintf(q, sizeof q, "code=http://loinc.org|%s&date=ge%d-01-01&date=lt%d-01-01&_count=10", code, year, year + 1); break;
            default: snprintf(q, sizeof q, "name=%c%c", 'A' + (int)((rnd >> 13) % 26), 'a' + (int)((rnd >> 7) % 26)); type = "Patient"; break;
            }
            struct rest_resp resp;
            double s0 = cw_bench_now(), u0 = thread_cpu_now();
            int st = request(&e, a, "GET", cw_slice_cstr(type), cw_slice_cstr(q), CW_LIT(""), NULL, &resp);
            lat[i] = (cw_bench_now() - s0) * 1000.0;
            cpu[i] = (thread_cpu_now() - u0) * 1000.0;
            if (st != 200) errs++;
            results += resp.body.len;
            cw_buf_release(&resp.body);
            cw_arena_reset(a);
        }
        double total = cw_bench_now() - t1;
        qsort(lat, (size_t)nq, sizeof *lat, cmp_double);
        qsort(cpu, (size_t)nq, sizeof *cpu, cmp_double);
        /* cpu_*: CPU time of the searching thread per search, which a busy
           machine's scheduling delays do not inflate */
        snprintf(extra, sizeof extra,
                 "\"kind\":\"%s\",\"resources\":%zu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
                 "\"cpu_p50_ms\":%.3f,\"cpu_p99_ms\":%.3f,\"response_bytes\":%zu",
                 kinds[k], stored, lat[nq / 2], lat[nq * 9 / 10], lat[nq * 99 / 100], lat[nq - 1], cpu[nq / 2],
                 cpu[nq * 99 / 100], results);
        cw_bench_report("rest-search", pg ? "c-postgres" : "c-sqlite", (size_t)nq, 0, total, errs, extra);
    }
    free(lat);
    free(cpu);
    free(pats);
    cw_arena_destroy(a);
    env_close(&e);
}

/* ---- single creates (the wrk mix's write) ---- */

/* N one-resource creates (POST Observation, Prefer return=minimal, the body
   of bench/rest_mixed.lua) on a store holding the Synthea bundles, one at a
   time: each is its own transaction and commit, so this measures the cost of
   a small commit (the WAL pages an Observation's index rows dirty). */
static void creates(const char *pg, int n, bool validate)
{
    struct env e;
    if (env_open(&e, pg, validate) < 0) exit(2);
    struct cw_arena *a = cw_arena_new(0);
    for (size_t i = 0; i < nbundles; i++) {
        request(&e, a, "POST", CW_LIT(""), CW_LIT(""), (cw_slice){bundles[i].data, bundles[i].len}, NULL, NULL);
        cw_arena_reset(a);
    }
    static const char body[] =
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
        "\"http://loinc.org\",\"code\":\"8867-4\"}]},\"subject\":{\"reference\":\"Patient/%d\"},"
        "\"effectiveDateTime\":\"2021-03-01T08:00:00Z\",\"valueQuantity\":{\"value\":%d,\"unit\":\"/min\","
        "\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"}}";
    size_t errors = 0;
    double c0 = cpu_now(), t0 = cw_bench_now();
    for (int i = 0; i < n; i++) {
        char b[600];
        int len = snprintf(b, sizeof b, body, i % 100, 60 + i % 50);
        int st = request(&e, a, "POST", CW_LIT("Observation"), CW_LIT(""), (cw_slice){b, (size_t)len},
                         "return=minimal", NULL);
        if (st != 201) errors++;
        cw_arena_reset(a);
    }
    double secs = cw_bench_now() - t0, cpu = cpu_now() - c0;
    char extra[300];
    snprintf(extra, sizeof extra, "\"validate\":%s,\"process_cpu_s\":%.3f,\"us_per_create\":%.1f,\"cpu_us_per_create\":%.1f",
             validate ? "true" : "false", cpu, secs * 1e6 / n, cpu * 1e6 / n);
    cw_bench_report("rest-create", pg ? "c-postgres" : "c-sqlite", (size_t)n, 0, secs, errors, extra);
    cw_arena_destroy(a);
    env_close(&e);
}

/* ---- the peers' fhir-store task ---- */

static int fhir_store(int argc, char **argv)
{
    int reps = 3, warmup = 0;
    const char *queries = NULL, *dir = NULL, *pg = getenv("CW_BENCH_PG");
    bool validate = true;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) queries = argv[++i];
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) pg = argv[++i];
        else if (strcmp(argv[i], "--no-validate") == 0) validate = false;
        else if (argv[i][0] != '-') dir = argv[i];
    }
    if (reps < 1) reps = 1;
    if (reps > 15) reps = 15;
    if (!dir) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/resources.ndjson", dir);
    size_t len;
    struct cw_bench_file *f = NULL;
    size_t nf = 0;
    (void)len;
    if (cw_bench_load_dir(dir, "ndjson", &f, &nf) < 0 || !nf) {
        fprintf(stderr, "bench_rest: no %s\n", path);
        return 2;
    }
    if (!queries) {
        snprintf(path, sizeof path, "%s/queries.txt", dir);
        queries = path;
    }
    /* resources: one per line; their type and id for PUT */
    struct line {
        cw_slice json, type, id;
    } *lines = NULL;
    size_t nl = 0, cap = 0, bytes = 0;
    struct cw_arena *pa = cw_arena_new((size_t)1 << 31);
    for (size_t k = 0; k < nf; k++) {
        char *p = f[k].data, *end = f[k].data + f[k].len;
        while (p < end) {
            char *nlp = memchr(p, '\n', (size_t)(end - p));
            size_t n = nlp ? (size_t)(nlp - p) : (size_t)(end - p);
            if (n) {
                struct cw_json *j;
                struct cw_err err;
                if (cw_json_parse(pa, p, n, NULL, &j, &err) == 0) {
                    if (nl == cap) lines = realloc(lines, (cap = cap ? cap * 2 : 1024) * sizeof *lines);
                    lines[nl].json = (cw_slice){p, n};
                    lines[nl].type = cw_json_text(cw_json_get(j, "resourceType"));
                    lines[nl].id = cw_json_text(cw_json_get(j, "id"));
                    char *pth = cw_arena_printf(pa, "/%.*s/%.*s", CW_SLICE_FMT(lines[nl].type), CW_SLICE_FMT(lines[nl].id));
                    lines[nl].type = cw_slice_cstr(pth); /* reused as the path */
                    bytes += n;
                    nl++;
                }
            }
            p += n + 1;
        }
    }
    FILE *qf = fopen(queries, "r");
    if (!qf) {
        fprintf(stderr, "bench_rest: cannot read %s\n", queries);
        return 2;
    }
    char qline[4096];
    char **qs = NULL;
    size_t nq = 0;
    while (fgets(qline, sizeof qline, qf)) {
        size_t n = strcspn(qline, "\r\n");
        qline[n] = '\0';
        if (!n || qline[0] == '#') continue;
        qs = realloc(qs, (nq + 1) * sizeof *qs);
        qs[nq++] = strdup(qline);
    }
    fclose(qf);
    double cts[32], sts[32];
    size_t errors = 0, results = 0;
    int ndone = 0;
    for (int r = 0; r < warmup + reps; r++) {
        struct env e;
        if (env_open(&e, pg, validate) < 0) return 2;
        struct cw_arena *a = cw_arena_new(0);
        errors = 0;
        results = 0;
        double c0 = cw_bench_now();
        for (size_t i = 0; i < nl; i++) {
            int st = request(&e, a, "PUT", lines[i].type, CW_LIT(""), lines[i].json, "return=minimal", NULL);
            if (st != 201 && st != 200) errors++;
            cw_arena_reset(a);
        }
        double c1 = cw_bench_now();
        for (size_t i = 0; i < nq; i++) {
            char *qm = strchr(qs[i], '?');
            char qpath[200], query[4200];
            snprintf(qpath, sizeof qpath, "/%.*s", qm ? (int)(qm - qs[i]) : (int)strlen(qs[i]), qs[i]);
            snprintf(query, sizeof query, "%s&_count=1000", qm ? qm + 1 : "");
            cw_slice cursor = CW_SLICE_NULL;
            char curq[4400];
            for (int page = 0; page < 10000; page++) {
                struct rest_resp resp;
                if (cursor.len) snprintf(curq, sizeof curq, "%s&_cursor=%.*s", query, CW_SLICE_FMT(cursor));
                int st = request(&e, a, "GET", cw_slice_cstr(qpath), cw_slice_cstr(cursor.len ? curq : query),
                                 CW_LIT(""), NULL, &resp);
                cursor = CW_SLICE_NULL;
                if (st != 200) {
                    errors++;
                    cw_buf_release(&resp.body);
                    break;
                }
                struct cw_json *j;
                struct cw_err err;
                if (cw_json_parse(a, resp.body.ptr, resp.body.len, NULL, &j, &err) == 0) {
                    const struct cw_json *en = cw_json_get(j, "entry");
                    results += en ? en->len : 0;
                    const struct cw_json *links = cw_json_get(j, "link");
                    for (uint32_t k = 0; links && k < links->len; k++)
                        if (cw_slice_eq_cstr(cw_json_text(cw_json_get(&links->u.items[k], "relation")), "next")) {
                            cw_slice u = cw_json_text(cw_json_get(&links->u.items[k], "url"));
                            const char *c = strstr(u.ptr, "_cursor=");
                            if (c) cursor = cw_arena_dup(a, cw_slice_cstr(c + 8));
                        }
                }
                cw_buf_release(&resp.body);
                if (!cursor.len) break;
            }
            cw_arena_reset(a);
        }
        double s1 = cw_bench_now();
        cw_arena_destroy(a);
        env_close(&e);
        if (r >= warmup) {
            cts[ndone] = c1 - c0;
            sts[ndone] = s1 - c1;
            ndone++;
        }
        fprintf(stderr, "  rep %d: create %.2f s, search %.3f s, %zu results, %zu errors\n", r + 1, c1 - c0, s1 - c1,
                results, errors);
    }
    double cs = cw_bench_median(cts, ndone), ss = cw_bench_median(sts, ndone);
    char extra[700];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"creates\":%zu,\"create_seconds\":%.6f,\"creates_per_s\":%.2f,"
             "\"searches\":%zu,\"search_seconds\":%.6f,\"searches_per_s\":%.2f,\"search_results\":%zu,"
             "\"store\":\"%s\",\"validate\":%s",
             reps, warmup, nl, cs, nl / cs, nq, ss, nq / ss, results, pg ? "postgres" : "sqlite",
             validate ? "true" : "false");
    cw_bench_report("fhir-store", pg ? "c-postgres" : "c", nl + nq, bytes, cs + ss, errors, extra);
    for (size_t i = 0; i < nq; i++) free(qs[i]);
    free(qs);
    free(lines);
    cw_arena_destroy(pa);
    cw_bench_free_files(f, nf);
    return 0;
}

int main(int argc, char **argv)
{
    cw_log_threshold = getenv("CW_BENCH_DEBUG") ? CW_LOG_DEBUG : CW_LOG_ERROR;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_rest ingest|search|fhir-store ... (see bench/bench_rest.c)\n");
        return 2;
    }
    if (strcmp(argv[1], "fhir-store") == 0) return fhir_store(argc, argv);
    const char *pg = getenv("CW_BENCH_PG"), *dir = NULL;
    int reps = 3, copies = 1, nq = 1000;
    size_t target = 1000000;
    bool only_pg = false, no_validate = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) pg = argv[++i];
        else if (strcmp(argv[i], "--copies") == 0 && i + 1 < argc) copies = atoi(argv[++i]);
        else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) target = (size_t)atoll(argv[++i]);
        else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) nq = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only-pg") == 0) only_pg = true;
        else if (strcmp(argv[i], "--store-dir") == 0 && i + 1 < argc) g_store_dir = argv[++i];
        else if (strcmp(argv[i], "--pg-keep") == 0) g_pg_keep = true;
        else if (strcmp(argv[i], "--no-validate") == 0) no_validate = true;
        else dir = argv[i];
    }
    if (reps < 1) reps = 1;
    if (reps > 15) reps = 15;
    if (copies < 1) copies = 1;
    if (nq < 10) nq = 10;
    if (!dir) return 2;
    load_bundles(dir);
    fprintf(stderr, "bench_rest: %zu bundles, %zu resources, %.1f MB\n", nbundles, bundle_resources, bundle_bytes / 1e6);
    if (strcmp(argv[1], "ingest") == 0) {
        stages();
        if (!only_pg) {
            if (!no_validate) ingest(NULL, reps, copies, true);
            ingest(NULL, reps, copies, false);
        }
        if (pg && *pg) {
            if (!no_validate) ingest(pg, reps, copies, true);
            ingest(pg, reps, copies, false);
        }
    } else if (strcmp(argv[1], "create") == 0) {
        if (!only_pg) creates(NULL, nq, !no_validate);
        if (pg && *pg) creates(pg, nq, !no_validate);
    } else if (strcmp(argv[1], "search") == 0) {
        if (!only_pg) search_latency(NULL, target, nq);
        if (pg && *pg) search_latency(pg, target, nq);
    } else {
        return 2;
    }
    cw_bench_free_files(bundles, nbundles);
    return 0;
}
