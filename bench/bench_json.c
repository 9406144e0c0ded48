/*
 * bench_json.c — JSON parse and write throughput on the Synthea bundles,
 * Causeway's codec side by side with cJSON and jansson (when built with
 * them; see bench/CMakeLists.txt) in the same process and run.
 *
 *   bench_json [DIR] [--reps R] [--warmup W] [--task parse|write] [--peer c|cjson|jansson]
 *
 * DIR defaults to $CW_CORPUS/fhir-r4-examples/synthea, else
 * ../shared/corpus/fhir-r4-examples/synthea. Every *.json file is read into
 * memory before timing. Each task runs W untimed and R timed passes over all
 * files; the reported time is the median pass (cw_bench_report format).
 *
 * Tasks:
 *  json-parse  text -> tree, one arena (or library tree) per file, freed in
 *              the pass. bytes = input bytes. Our line also carries the
 *              strict-mode (duplicate-key) figure.
 *  json-write  tree -> compact text into a reused buffer (trees built
 *              untimed). bytes = that implementation's output bytes. Our
 *              line also carries the pretty (indent 2) figure, and
 *              fresh_tree_mb_per_s: compact write timed right after each
 *              file's (untimed) parse, with tree and input still in cache,
 *              as when a server answers. The main figure is the colder
 *              case: 61 trees (~16 MB of nodes over ~40 MB of input) are
 *              built first and then written in turn.
 *
 * Besides the wall-clock median (seconds, mb_per_s) every line carries the
 * median thread CPU time per pass (cpu_seconds, cpu_mb_per_s): on the
 * shared project machine other jobs take turns on the two cores, and CPU
 * time leaves out the time this process was not running.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "json/json.h"

#ifdef CW_HAVE_CJSON
#include <cjson/cJSON.h>
#endif
#ifdef CW_HAVE_JANSSON
#include <jansson.h>
#endif

#define MAX_REPS 101

static struct cw_bench_file *files;
static size_t nfiles, total_bytes;
static int reps = 9, warmup = 2;
static const char *only_task, *only_peer; /* filters for profiling */

static bool want(const char *task, const char *peer)
{
    return (!only_task || strcmp(only_task, task) == 0) &&
           (!only_peer || strcmp(only_peer, peer) == 0);
}

typedef size_t (*pass_fn)(size_t *bytes, size_t *errors, void *ctx);

/* Thread CPU time in seconds: excludes time the scheduler gave to others. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
    double median, min, cpu_median; /* seconds per pass */
    size_t bytes, errors, check;
};

/* Run warmup + reps passes; medians of wall and CPU time per pass. */
static struct result run(pass_fn fn, void *ctx)
{
    double t[MAX_REPS], c[MAX_REPS];
    struct result r = {0};
    for (int i = 0; i < warmup; i++) {
        size_t b = 0, e = 0;
        fn(&b, &e, ctx);
    }
    for (int i = 0; i < reps; i++) {
        size_t b = 0, e = 0;
        double c0 = cpu_now(), t0 = cw_bench_now();
        r.check = fn(&b, &e, ctx);
        t[i] = cw_bench_now() - t0;
        c[i] = cpu_now() - c0;
        r.bytes = b;
        r.errors = e;
    }
    r.min = t[0];
    for (int i = 1; i < reps; i++)
        if (t[i] < r.min) r.min = t[i];
    r.median = cw_bench_median(t, reps);
    r.cpu_median = cw_bench_median(c, reps);
    return r;
}

static void report(const char *task, const char *peer, pass_fn fn, void *ctx, const char *more)
{
    struct result r = run(fn, ctx);
    char extra[512];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"seconds_min\":%.6f,\"cpu_seconds\":%.6f,"
             "\"cpu_mb_per_s\":%.1f,\"check\":%zu%s%s",
             reps, warmup, r.min, r.cpu_median,
             r.cpu_median > 0 ? (double)r.bytes / 1e6 / r.cpu_median : 0, r.check, more ? "," : "",
             more ? more : "");
    cw_bench_report(task, peer, nfiles, r.bytes, r.median, r.errors, extra);
}

/* Throughput of a variant reported as an extra field: wall and CPU MB/s. */
static void mbps(pass_fn fn, void *ctx, double *wall, double *cpu)
{
    struct result r = run(fn, ctx);
    *wall = r.median > 0 ? (double)r.bytes / 1e6 / r.median : 0;
    *cpu = r.cpu_median > 0 ? (double)r.bytes / 1e6 / r.cpu_median : 0;
}

/* ---- Causeway ---- */

static size_t count_nodes(const struct cw_json *v)
{
    size_t n = 1;
    if (v->type == CW_JSON_ARRAY)
        for (uint32_t i = 0; i < v->len; i++) n += count_nodes(&v->u.items[i]);
    else if (v->type == CW_JSON_OBJECT)
        for (uint32_t i = 0; i < v->len; i++) n += count_nodes(&v->u.members[i].value);
    return n;
}

static size_t cw_parse_pass(size_t *bytes, size_t *errors, void *ctx)
{
    unsigned flags = *(unsigned *)ctx;
    struct cw_json_opts opts = {.flags = flags};
    size_t check = 0;
    for (size_t i = 0; i < nfiles; i++) {
        struct cw_arena *a = cw_arena_new(0);
        struct cw_json *root;
        struct cw_err err;
        if (cw_json_parse(a, files[i].data, files[i].len, &opts, &root, &err) == 0)
            check += root->len;
        else
            (*errors)++;
        *bytes += files[i].len;
        cw_arena_destroy(a);
    }
    return check;
}

struct cw_trees {
    struct cw_arena *a;
    struct cw_json **roots;
    struct cw_buf out;
    int indent;
};

static size_t cw_write_pass(size_t *bytes, size_t *errors, void *ctx)
{
    struct cw_trees *t = ctx;
    size_t check = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (!t->roots[i]) continue;
        cw_buf_reset(&t->out);
        if (cw_json_write(&t->out, t->roots[i], t->indent) < 0) (*errors)++;
        *bytes += t->out.len;
        check += (unsigned char)t->out.ptr[t->out.len / 2];
    }
    return check;
}

/*
 * Write right after parse, the way a server answers: per file, parse
 * (untimed) and time only the write, while the tree and input are still
 * in cache. Returns the summed write seconds of one pass.
 */
static double cw_write_fresh_pass(struct cw_buf *out, size_t *bytes)
{
    double secs = 0;
    *bytes = 0;
    for (size_t i = 0; i < nfiles; i++) {
        struct cw_arena *a = cw_arena_new(0);
        struct cw_json *root;
        struct cw_err err;
        if (cw_json_parse(a, files[i].data, files[i].len, NULL, &root, &err) == 0) {
            cw_buf_reset(out);
            double t0 = cw_bench_now();
            cw_json_write(out, root, 0);
            secs += cw_bench_now() - t0;
            *bytes += out->len;
        }
        cw_arena_destroy(a);
    }
    return secs;
}

static double fresh_write_mbps(void)
{
    struct cw_buf out;
    cw_buf_init(&out, 0);
    double t[MAX_REPS];
    size_t bytes = 0;
    for (int i = 0; i < warmup; i++) cw_write_fresh_pass(&out, &bytes);
    for (int i = 0; i < reps; i++) t[i] = cw_write_fresh_pass(&out, &bytes);
    cw_buf_release(&out);
    double med = cw_bench_median(t, reps);
    return med > 0 ? (double)bytes / 1e6 / med : 0;
}

/* ---- cJSON ---- */

#ifdef CW_HAVE_CJSON
static size_t cjson_parse_pass(size_t *bytes, size_t *errors, void *ctx)
{
    (void)ctx;
    size_t check = 0;
    for (size_t i = 0; i < nfiles; i++) {
        cJSON *root = cJSON_ParseWithLength(files[i].data, files[i].len);
        if (root)
            check += (size_t)cJSON_GetArraySize(root);
        else
            (*errors)++;
        *bytes += files[i].len;
        cJSON_Delete(root);
    }
    return check;
}

struct cjson_trees {
    cJSON **roots;
    char *buf;
    size_t cap;
};

static size_t cjson_write_pass(size_t *bytes, size_t *errors, void *ctx)
{
    struct cjson_trees *t = ctx;
    size_t check = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (!t->roots[i]) continue;
        if (!cJSON_PrintPreallocated(t->roots[i], t->buf, (int)t->cap, 0)) {
            (*errors)++;
            continue;
        }
        size_t n = strlen(t->buf);
        *bytes += n;
        check += (unsigned char)t->buf[n / 2];
    }
    return check;
}
#endif

/* ---- jansson ---- */

#ifdef CW_HAVE_JANSSON
static size_t jansson_parse_pass(size_t *bytes, size_t *errors, void *ctx)
{
    (void)ctx;
    size_t check = 0;
    for (size_t i = 0; i < nfiles; i++) {
        json_error_t jerr;
        json_t *root = json_loadb(files[i].data, files[i].len, 0, &jerr);
        if (root)
            check += json_object_size(root);
        else
            (*errors)++;
        *bytes += files[i].len;
        json_decref(root);
    }
    return check;
}

struct jansson_trees {
    json_t **roots;
    char *buf;
    size_t cap;
};

static size_t jansson_write_pass(size_t *bytes, size_t *errors, void *ctx)
{
    struct jansson_trees *t = ctx;
    size_t check = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (!t->roots[i]) continue;
        size_t n = json_dumpb(t->roots[i], t->buf, t->cap, JSON_COMPACT);
        if (n == 0 || n > t->cap) {
            (*errors)++;
            continue;
        }
        *bytes += n;
        check += (unsigned char)t->buf[n / 2];
    }
    return check;
}
#endif

int main(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--task") == 0 && i + 1 < argc)
            only_task = argv[++i];
        else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
            only_peer = argv[++i];
        else
            dir = argv[i];
    }
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    if (warmup < 0) warmup = 0;
    char path[4096];
    if (!dir) {
        const char *corpus = getenv("CW_CORPUS");
        snprintf(path, sizeof path, "%s/fhir-r4-examples/synthea",
                 corpus && *corpus ? corpus : "../shared/corpus");
        dir = path;
    }
    if (cw_bench_load_dir(dir, "json", &files, &nfiles) < 0 || nfiles == 0) {
        fprintf(stderr, "bench_json: no *.json files under %s\n", dir);
        return 2;
    }
    for (size_t i = 0; i < nfiles; i++) total_bytes += files[i].len;
    fprintf(stderr, "bench_json: %zu files, %.1f MB from %s; warmup %d, reps %d\n", nfiles,
            (double)total_bytes / 1e6, dir, warmup, reps);

    /* json-parse */
    unsigned strict = CW_JSON_STRICT, plain = 0;
    char more[256];
    if (want("parse", "c")) {
        double w, c;
        mbps(cw_parse_pass, &strict, &w, &c);
        snprintf(more, sizeof more,
                 "\"mode\":\"plain\",\"strict_mb_per_s\":%.1f,\"strict_cpu_mb_per_s\":%.1f", w, c);
        report("json-parse", "c", cw_parse_pass, &plain, more);
    }
#ifdef CW_HAVE_CJSON
    if (want("parse", "cjson")) report("json-parse", "cjson", cjson_parse_pass, NULL, NULL);
#endif
#ifdef CW_HAVE_JANSSON
    if (want("parse", "jansson")) report("json-parse", "jansson", jansson_parse_pass, NULL, NULL);
#endif

    /* json-write */
    size_t maxlen = 0;
    for (size_t i = 0; i < nfiles; i++)
        if (files[i].len > maxlen) maxlen = files[i].len;
    if (want("write", "c")) {
        struct cw_trees ct = {.a = cw_arena_new((size_t)4 << 30), .indent = 2};
        ct.roots = calloc(nfiles, sizeof *ct.roots);
        cw_buf_init(&ct.out, 0);
        for (size_t i = 0; i < nfiles; i++) {
            struct cw_err err;
            if (cw_json_parse(ct.a, files[i].data, files[i].len, NULL, &ct.roots[i], &err) < 0)
                ct.roots[i] = NULL;
        }
        size_t nodes = 0;
        for (size_t i = 0; i < nfiles; i++)
            if (ct.roots[i]) nodes += count_nodes(ct.roots[i]);
        double w, c;
        mbps(cw_write_pass, &ct, &w, &c);
        snprintf(more, sizeof more,
                 "\"mode\":\"compact\",\"pretty_mb_per_s\":%.1f,\"pretty_cpu_mb_per_s\":%.1f,"
                 "\"fresh_tree_mb_per_s\":%.1f,\"nodes\":%zu",
                 w, c, fresh_write_mbps(), nodes);
        ct.indent = 0;
        report("json-write", "c", cw_write_pass, &ct, more);
        cw_buf_release(&ct.out);
        cw_arena_destroy(ct.a);
        free(ct.roots);
    }
#ifdef CW_HAVE_CJSON
    if (want("write", "cjson")) {
        struct cjson_trees t = {.cap = maxlen * 2 + 4096};
        t.roots = calloc(nfiles, sizeof *t.roots);
        t.buf = malloc(t.cap);
        for (size_t i = 0; i < nfiles; i++)
            t.roots[i] = cJSON_ParseWithLength(files[i].data, files[i].len);
        report("json-write", "cjson", cjson_write_pass, &t, "\"mode\":\"compact\"");
        for (size_t i = 0; i < nfiles; i++) cJSON_Delete(t.roots[i]);
        free(t.roots);
        free(t.buf);
    }
#endif
#ifdef CW_HAVE_JANSSON
    if (want("write", "jansson")) {
        struct jansson_trees t = {.cap = maxlen * 2 + 4096};
        t.roots = calloc(nfiles, sizeof *t.roots);
        t.buf = malloc(t.cap);
        for (size_t i = 0; i < nfiles; i++) {
            json_error_t jerr;
            t.roots[i] = json_loadb(files[i].data, files[i].len, 0, &jerr);
        }
        report("json-write", "jansson", jansson_write_pass, &t, "\"mode\":\"compact\"");
        for (size_t i = 0; i < nfiles; i++) json_decref(t.roots[i]);
        free(t.roots);
        free(t.buf);
    }
#endif
    cw_bench_free_files(files, nfiles);
    return 0;
}
