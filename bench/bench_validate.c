/*
 * bench_validate.c — the peers' `fhir-validate` task for Causeway's C code
 * (../shared/bench/peers/README.md, "Plugging in the C implementation";
 * tasks/fhir-validate.js).
 *
 *   bench_validate fhir-validate --reps R --warmup W DIR...
 *
 * Items: as the peers count them (lib/fhir.js loadFhirJson): every *.json
 * file holding an object with a string "resourceType", every non-blank
 * line of *.ndjson; a leading BOM stripped; files found recursively,
 * sorted. bytes = UTF-8 length of the item text.
 *
 * Timed work per item, single-threaded: JSON text -> cw_json_parse (strict
 * FHIR mode) -> cw_fhir_validate against the R4 core definitions with
 * everything on (structure, primitives, cardinality, bindings and code
 * systems, every invariant through FHIRPath, references, meta.profile),
 * issues collected. That is more work than the peers' task asks ("no
 * terminology"): fhir.js checks structure only, medplum-core structure and
 * invariants. One arena per item, reset between items. W untimed passes,
 * then R timed passes; seconds = median pass.
 *
 * Extras: invalid (items with an error), error_issues (error issues in one
 * pass), and the same timed loop with the FHIRPath invariants and
 * terminology off ("structural_*": closest to the fhir.js peer's work).
 * Output: one JSON line on stdout (benchutil.h); diagnostics on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "fhir/fhir_validate.h"
#include "json/json.h"

struct counts {
    size_t errors, invalid, error_issues;
};

static void pass(struct cw_arena *a, const struct cw_bench_items *it, unsigned flags, struct counts *c)
{
    memset(c, 0, sizeof *c);
    struct cw_fhir_vopts o = {.flags = flags};
    for (size_t i = 0; i < it->n; i++) {
        struct cw_json *j;
        struct cw_err e;
        struct cw_json_opts jo = {.flags = CW_JSON_STRICT};
        cw_arena_reset(a);
        if (cw_json_parse(a, it->v[i].text, it->v[i].len, &jo, &j, &e) < 0) {
            c->errors++;
            continue;
        }
        struct cw_fhir_vresult r;
        if (cw_fhir_validate(a, j, &o, &r, &e) < 0) {
            c->errors++;
            continue;
        }
        size_t n = r.n_error + r.n_fatal;
        if (n) c->invalid++;
        c->error_issues += n;
    }
}

static double timed(struct cw_arena *a, const struct cw_bench_items *it, unsigned flags, int reps,
                    int warmup, struct counts *c, double *tmin)
{
    for (int w = 0; w < warmup; w++) pass(a, it, flags, c);
    double *times = calloc((size_t)reps, sizeof *times);
    if (!times) exit(2);
    for (int r = 0; r < reps; r++) {
        double t0 = cw_bench_now();
        pass(a, it, flags, c);
        times[r] = cw_bench_now() - t0;
    }
    *tmin = times[0];
    for (int r = 1; r < reps; r++)
        if (times[r] < *tmin) *tmin = times[r];
    double med = cw_bench_median(times, reps);
    free(times);
    return med;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_validate fhir-validate [--reps R] [--warmup W] DIR...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (strcmp(argv[1], "fhir-validate") != 0) {
        fprintf(stderr, "bench_validate: only the fhir-validate task is implemented here\n");
        return 2;
    }
    int reps = 3, warmup = 1;
    struct cw_bench_items it = {0};
    for (int i = 2; i < argc; i++) {
        long long v;
        if ((strcmp(argv[i], "--reps") == 0 || strcmp(argv[i], "--warmup") == 0) && i + 1 < argc) {
            if (cw_slice_to_i64(cw_slice_cstr(argv[i + 1]), &v) < 0 || v < 0 || v > 1000)
                return usage();
            if (argv[i][2] == 'r')
                reps = (int)v;
            else
                warmup = (int)v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            if (i + 1 < argc) i++;
        } else
            cw_bench_load_resources(&it, argv[i]);
    }
    if (reps < 1) reps = 1;
    size_t bytes = 0;
    for (size_t i = 0; i < it.n; i++) bytes += it.v[i].len;
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    /* compile the core invariants once, untimed (the peers load their definitions untimed) */
    double s0 = cw_bench_now();
    cw_fhir_validate_warm(NULL, NULL);
    double setup = cw_bench_now() - s0;

    struct counts full, st;
    double fmin, smin;
    double fmed = timed(a, &it, 0, reps, warmup, &full, &fmin);
    double smed = timed(a, &it, CW_FHIR_VALIDATE_NO_INVARIANTS | CW_FHIR_VALIDATE_NO_TERMINOLOGY,
                        reps, warmup, &st, &smin);
    char extra[768];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"seconds_min\":%.6f,\"setup_s\":%.4f,\"invalid\":%zu,"
             "\"error_issues\":%zu,\"check\":%zu,\"mode\":\"full\",\"structural_seconds\":%.6f,"
             "\"structural_items_per_s\":%.1f,\"structural_mb_per_s\":%.1f,"
             "\"structural_invalid\":%zu,\"structural_error_issues\":%zu",
             reps, warmup, fmin, setup, full.invalid, full.error_issues, full.error_issues, smed,
             smed > 0 ? (double)it.n / smed : 0, smed > 0 ? (double)bytes / 1e6 / smed : 0,
             st.invalid, st.error_issues);
    cw_bench_report("fhir-validate", "c", it.n, bytes, fmed, full.errors, extra);
    cw_arena_destroy(a);
    cw_bench_items_free(&it);
    return 0;
}
