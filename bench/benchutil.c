/*
 * benchutil.c — timing, file loading and result lines for bench/.
 */
#include "benchutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/arena.h"
#include "json/json.h"

double cw_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cw_bench_median(double *v, int n)
{
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int has_suffix(const char *name, const char *suffixes)
{
    if (!suffixes) return 1;
    const char *p = suffixes;
    size_t nl = strlen(name);
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t sl = comma ? (size_t)(comma - p) : strlen(p);
        if (nl > sl && name[nl - sl - 1] == '.' && strncmp(name + nl - sl, p, sl) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz < 0) {
        fclose(f);
        return NULL;
    }
    char *p = malloc((size_t)sz + 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (!p) return NULL;
    p[sz] = '\0';
    *len = (size_t)sz;
    return p;
}

/* The names in dir except dot files, sorted (each and the array malloc'ed);
   -1 when dir cannot be opened. */
static int list_sorted(const char *dir, char ***out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) exit(2);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    *count = n;
    return 0;
}

int cw_bench_load_dir(const char *dir, const char *suffixes, struct cw_bench_file **files,
                      size_t *n)
{
    char **names;
    size_t cnt;
    if (list_sorted(dir, &names, &cnt) < 0) return -1;
    for (size_t i = 0; i < cnt; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            cw_bench_load_dir(path, suffixes, files, n);
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && has_suffix(names[i], suffixes)) {
            size_t len;
            char *data = read_all(path, &len);
            if (data) {
                *files = realloc(*files, (*n + 1) * sizeof **files);
                (*files)[*n] = (struct cw_bench_file){strdup(path), data, len};
                (*n)++;
            }
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

void cw_bench_free_files(struct cw_bench_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(files[i].path);
        free(files[i].data);
    }
    free(files);
}

void cw_bench_report(const char *task, const char *peer, size_t items, size_t bytes,
                     double seconds, size_t errors, const char *extra)
{
    double ips = seconds > 0 ? (double)items / seconds : 0;
    double mbs = seconds > 0 ? (double)bytes / 1e6 / seconds : 0;
    printf("{\"task\":\"%s\",\"peer\":\"%s\",\"items\":%zu,\"bytes\":%zu,\"seconds\":%.6f,"
           "\"items_per_s\":%.1f,\"mb_per_s\":%.1f,\"errors\":%zu%s%s}\n",
           task, peer, items, bytes, seconds, ips, mbs, errors, extra ? "," : "",
           extra ? extra : "");
    fflush(stdout);
}

/* ---- FHIR resources for the peers' tasks ---- */

static void res_push_item(struct cw_bench_items *it, const char *t, size_t len)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 256;
        it->v = realloc(it->v, it->cap * sizeof *it->v);
        if (!it->v) exit(2);
    }
    it->v[it->n++] = (struct cw_bench_item){t, len};
}

/* lib/fhir.js: an object with a string resourceType. */
static bool res_is_resource(const char *t, size_t len)
{
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *j;
    struct cw_err e;
    bool ok = cw_json_parse(a, t, len, NULL, &j, &e) == 0 && cw_json_is(j, CW_JSON_OBJECT) &&
              cw_json_is(cw_json_get(j, "resourceType"), CW_JSON_STRING);
    cw_arena_destroy(a);
    return ok;
}

static bool res_ends_with_ci(const char *name, const char *suf)
{
    size_t n = strlen(name), s = strlen(suf);
    return n >= s && strcasecmp(name + n - s, suf) == 0;
}

void cw_bench_load_resources(struct cw_bench_items *it, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "warning: cannot stat %s\n", path);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        char **names;
        size_t n;
        if (list_sorted(path, &names, &n) < 0) return;
        for (size_t i = 0; i < n; i++) {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
            cw_bench_load_resources(it, sub);
            free(names[i]);
        }
        free(names);
        return;
    }
    bool nd = res_ends_with_ci(path, ".ndjson");
    if (!S_ISREG(st.st_mode) || (!nd && !res_ends_with_ci(path, ".json"))) return;
    size_t len;
    char *data = read_all(path, &len);
    if (!data) return;
    if (it->n_owned == it->cap_owned) {
        it->cap_owned = it->cap_owned ? it->cap_owned * 2 : 256;
        it->owned = realloc(it->owned, it->cap_owned * sizeof *it->owned);
    }
    it->owned[it->n_owned++] = data;
    const char *t = data;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) t += 3, len -= 3;
    if (!nd) {
        if (res_is_resource(t, len)) res_push_item(it, t, len);
        return;
    }
    const char *end = t + len;
    while (t < end) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        const char *le = nl ? nl : end;
        const char *s = t;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
        if (s < le && res_is_resource(t, (size_t)(le - t))) res_push_item(it, t, (size_t)(le - t));
        t = nl ? nl + 1 : end;
    }
}


void cw_bench_items_free(struct cw_bench_items *it)
{
    for (size_t i = 0; i < it->n_owned; i++) free(it->owned[i]);
    free(it->owned);
    free(it->v);
    *it = (struct cw_bench_items){0};
}
