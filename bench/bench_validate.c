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
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "benchutil.h"
#include "fhir/fhir_validate.h"
#include "json/json.h"

struct item {
    const char *text;
    size_t len;
};

struct items {
    struct item *v;
    size_t n, cap;
    char **owned; /* file buffers */
    size_t n_owned, cap_owned;
};

static void push_item(struct items *it, const char *t, size_t len)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 256;
        it->v = realloc(it->v, it->cap * sizeof *it->v);
        if (!it->v) exit(2);
    }
    it->v[it->n++] = (struct item){t, len};
}

/* lib/fhir.js: an object with a string resourceType. */
static bool is_resource(const char *t, size_t len)
{
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *j;
    struct cw_err e;
    bool ok = cw_json_parse(a, t, len, NULL, &j, &e) == 0 && cw_json_is(j, CW_JSON_OBJECT) &&
              cw_json_is(cw_json_get(j, "resourceType"), CW_JSON_STRING);
    cw_arena_destroy(a);
    return ok;
}

static bool ends_with_ci(const char *name, const char *suf)
{
    size_t n = strlen(name), s = strlen(suf);
    return n >= s && strcasecmp(name + n - s, suf) == 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    char *p = malloc((size_t)st.st_size + 1);
    if (p && fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[st.st_size] = '\0';
        *len = (size_t)st.st_size;
    }
    return p;
}

static void load(struct items *it, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "warning: cannot stat %s\n", path);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                names = realloc(names, cap * sizeof *names);
            }
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_name);
        for (size_t i = 0; i < n; i++) {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
            load(it, sub);
            free(names[i]);
        }
        free(names);
        return;
    }
    bool nd = ends_with_ci(path, ".ndjson");
    if (!S_ISREG(st.st_mode) || (!nd && !ends_with_ci(path, ".json"))) return;
    size_t len;
    char *data = read_file(path, &len);
    if (!data) return;
    if (it->n_owned == it->cap_owned) {
        it->cap_owned = it->cap_owned ? it->cap_owned * 2 : 256;
        it->owned = realloc(it->owned, it->cap_owned * sizeof *it->owned);
    }
    it->owned[it->n_owned++] = data;
    const char *t = data;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) t += 3, len -= 3;
    if (!nd) {
        if (is_resource(t, len)) push_item(it, t, len);
        return;
    }
    const char *end = t + len;
    while (t < end) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        const char *le = nl ? nl : end;
        const char *s = t;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
        if (s < le && is_resource(t, (size_t)(le - t))) push_item(it, t, (size_t)(le - t));
        t = nl ? nl + 1 : end;
    }
}

struct counts {
    size_t errors, invalid, error_issues;
};

static void pass(struct cw_arena *a, const struct items *it, unsigned flags, struct counts *c)
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

static double timed(struct cw_arena *a, const struct items *it, unsigned flags, int reps,
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
    struct items it = {0};
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
            load(&it, argv[i]);
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
    for (size_t i = 0; i < it.n_owned; i++) free(it.owned[i]);
    free(it.owned);
    free(it.v);
    return 0;
}
