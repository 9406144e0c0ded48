/*
 * benchutil.h — shared pieces of the benchmarks in bench/.
 *
 * Output contract (../shared/bench/peers/README.md): one JSON line per task
 * and implementation on stdout with task, peer, items, bytes, seconds (the
 * median timed pass), items_per_s, mb_per_s, errors, plus extras. Progress
 * and diagnostics go to stderr only.
 */
#ifndef CW_BENCHUTIL_H
#define CW_BENCHUTIL_H

#include <stddef.h>

/* Monotonic clock in seconds. */
double cw_bench_now(void);

/* Median of n doubles (sorts v in place). */
double cw_bench_median(double *v, int n);

/* One input file held in memory. */
struct cw_bench_file {
    char *path;
    char *data; /* NUL-terminated */
    size_t len;
};

/*
 * Read every regular file under dir (recursively, sorted) whose name ends in
 * one of the comma-separated suffixes ("json,ndjson"; NULL = all) and append
 * it to *files (realloc'ed array, *n entries). Returns 0, -1 if dir is absent.
 */
int cw_bench_load_dir(const char *dir, const char *suffixes, struct cw_bench_file **files,
                      size_t *n);

void cw_bench_free_files(struct cw_bench_file *files, size_t n);

/*
 * Print the result line. 'extra' is either NULL or additional JSON members
 * without braces (e.g. "\"reps\":5,\"warmup\":1").
 */
void cw_bench_report(const char *task, const char *peer, size_t items, size_t bytes,
                     double seconds, size_t errors, const char *extra);

/*
 * FHIR resources for the peers' tasks (lib/fhir.js): every .json file (one
 * resource) and every line of every .ndjson file under the given paths
 * (recursively, sorted by name) whose text is an object with a string
 * resourceType. A UTF-8 BOM is dropped. The texts point into file buffers
 * owned by the list.
 */
struct cw_bench_item {
    const char *text;
    size_t len;
};

struct cw_bench_items {
    struct cw_bench_item *v;
    size_t n, cap;
    char **owned; /* file buffers */
    size_t n_owned, cap_owned;
};

/* Append the resources under path (file or folder) to it. */
void cw_bench_load_resources(struct cw_bench_items *it, const char *path);

/* Free the list's buffers (the struct itself is the caller's). */
void cw_bench_items_free(struct cw_bench_items *it);

#endif
