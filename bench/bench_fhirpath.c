/*
 * bench_fhirpath.c — the `fhirpath` task of ../shared/bench/peers
 * (tasks/fhirpath.js), for the C engine:
 *
 *   bench_fhirpath fhirpath --reps R --warmup W --exprs FILE DIR...
 *
 * Items are FHIR resources: every *.json file holding an object with a
 * string "resourceType" (a Bundle is one item) and every line of *.ndjson
 * files, a leading BOM stripped; bytes = the UTF-8 length of each item's
 * text. Untimed: reading and JSON-parsing the resources, compiling the
 * expressions (one per line of FILE; '#' lines and blank lines skipped).
 * Timed, per item: evaluate every expression on the parsed resource (one
 * arena per item, reset between items). `results` is the total number of
 * result values of one pass (the peers report 6,098 on the shared corpus);
 * an item on which any expression fails counts once in `errors`.
 * One JSON result line on stdout (benchutil.h); progress on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "fhir/fhirpath.h"
#include "json/json.h"

#define MAX_EXPRS 256

struct item {
    struct cw_json *json;
    size_t bytes;
};

static void usage(void)
{
    fprintf(stderr, "usage: bench_fhirpath fhirpath --reps R --warmup W --exprs FILE DIR...\n");
}

int main(int argc, char **argv)
{
    int reps = 3, warmup = 1;
    const char *exprs_file = NULL;
    const char *dirs[64];
    int ndirs = 0;
    if (argc < 2 || strcmp(argv[1], "fhirpath") != 0) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--exprs") == 0 && i + 1 < argc)
            exprs_file = argv[++i];
        else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else if (ndirs < 64)
            dirs[ndirs++] = argv[i];
    }
    if (!exprs_file || ndirs == 0 || reps < 1 || warmup < 0) {
        usage();
        return 2;
    }

    /* expressions */
    FILE *f = fopen(exprs_file, "rb");
    if (!f) {
        fprintf(stderr, "bench_fhirpath: cannot read %s\n", exprs_file);
        return 2;
    }
    static char etext[1 << 20];
    size_t elen = fread(etext, 1, sizeof etext - 1, f);
    fclose(f);
    etext[elen] = 0;
    struct cw_fhirpath_expr *exprs[MAX_EXPRS];
    size_t nexpr = 0;
    char *line = etext;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *s = line, *e = line + strlen(line);
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
        if (e > s && *s != '#') {
            struct cw_err err;
            if (nexpr >= MAX_EXPRS || cw_fhirpath_compile((cw_slice){s, (size_t)(e - s)}, NULL,
                                                          &exprs[nexpr], &err) < 0) {
                fprintf(stderr, "bench_fhirpath: cannot compile expression %zu: %s\n", nexpr + 1,
                        err.msg);
                return 1;
            }
            nexpr++;
        }
        line = nl ? nl + 1 : NULL;
    }

    /* resources */
    struct cw_bench_file *files = NULL;
    size_t nfiles = 0;
    for (int d = 0; d < ndirs; d++)
        if (cw_bench_load_dir(dirs[d], "json,ndjson", &files, &nfiles) < 0)
            fprintf(stderr, "bench_fhirpath: warning: cannot read %s\n", dirs[d]);
    struct cw_arena *docs = cw_arena_new((size_t)4 << 30);
    struct item *items = NULL;
    size_t nitems = 0, cap = 0, bytes = 0, skipped = 0;
    double t_parse = cw_bench_now();
    for (size_t k = 0; k < nfiles; k++) {
        char *text = files[k].data;
        size_t len = files[k].len;
        if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
            (unsigned char)text[2] == 0xBF) {
            text += 3;
            len -= 3;
        }
        size_t plen = strlen(files[k].path);
        bool ndjson = plen > 7 && strcmp(files[k].path + plen - 7, ".ndjson") == 0;
        size_t pos = 0;
        while (pos < len) {
            size_t end = len;
            if (ndjson) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                end = nl ? (size_t)(nl - text) : len;
            }
            cw_slice t = {text + pos, end - pos};
            pos = ndjson ? end + 1 : len;
            if (cw_slice_trim(t).len == 0) continue;
            struct cw_json *j;
            struct cw_err err;
            if (cw_json_parse(docs, t.ptr, t.len, NULL, &j, &err) < 0 ||
                !cw_json_is(cw_json_get(j, "resourceType"), CW_JSON_STRING)) {
                skipped++;
                continue;
            }
            if (nitems == cap) {
                cap = cap ? cap * 2 : 1024;
                items = realloc(items, cap * sizeof *items);
                if (!items) return 2;
            }
            items[nitems].json = j;
            items[nitems].bytes = t.len;
            bytes += t.len;
            nitems++;
        }
    }
    t_parse = cw_bench_now() - t_parse;
    fprintf(stderr, "bench_fhirpath: %zu resources (%zu bytes, %zu skipped), %zu expressions\n",
            nitems, bytes, skipped, nexpr);

    struct cw_arena *a = cw_arena_new(0);
    double *times = calloc((size_t)reps, sizeof *times);
    double *cpu = calloc((size_t)reps, sizeof *cpu);
    size_t errors = 0, results = 0, peak = 0;
    for (int pass = 0; pass < warmup + reps; pass++) {
        errors = 0;
        results = 0;
        double t0 = cw_bench_now();
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        for (size_t i = 0; i < nitems; i++) {
            bool failed = false;
            for (size_t x = 0; x < nexpr; x++) {
                struct cw_fhirpath_coll r;
                struct cw_err err;
                if (cw_fhirpath_eval(a, exprs[x], NULL, items[i].json, &r, &err) < 0) {
                    if (!failed && getenv("BENCH_VERBOSE"))
                        fprintf(stderr, "bench_fhirpath: item %zu, expression %zu: %s\n", i, x + 1,
                                err.msg);
                    failed = true;
                    continue;
                }
                results += r.n;
            }
            if (failed) errors++;
            if (getenv("BENCH_ARENA") && cw_arena_used(a) > peak) peak = cw_arena_used(a);
            cw_arena_reset(a);
        }
        double dt = cw_bench_now() - t0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        if (pass >= warmup) {
            times[pass - warmup] = dt;
            cpu[pass - warmup] =
                (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        }
    }
    double tmin = times[0];
    for (int r = 1; r < reps; r++)
        if (times[r] < tmin) tmin = times[r];
    double med = cw_bench_median(times, reps);
    double cpu_med = cw_bench_median(cpu, reps);
    char extra[512];
    size_t evals = nitems * nexpr;
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"seconds_min\":%.6f,\"cpu_seconds\":%.6f,\"setup_s\":%.3f,"
             "\"expressions\":%zu,\"evals\":%zu,"
             "\"evals_per_s\":%.0f,\"results\":%zu,\"check\":%zu",
             reps, warmup, tmin, cpu_med, t_parse, nexpr, evals,
             med > 0 ? (double)evals / med : 0.0, results, results);
    if (getenv("BENCH_ARENA")) fprintf(stderr, "bench_fhirpath: peak arena per item %zu bytes\n", peak);
    cw_bench_report("fhirpath", "c", nitems, bytes, med, errors, extra);

    free(times);
    free(cpu);
    free(items);
    cw_arena_destroy(a);
    cw_arena_destroy(docs);
    for (size_t x = 0; x < nexpr; x++) cw_fhirpath_free(exprs[x]);
    cw_bench_free_files(files, nfiles);
    return 0;
}
