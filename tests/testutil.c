/*
 * testutil.c — corpus lookup, file reading and directory walking for tests.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *cw_test_corpus(const char *sub)
{
    static char path[4096];
    const char *root = getenv("CW_CORPUS");
    if (!root || !*root) return NULL;
    snprintf(path, sizeof path, "%s/%s", root, sub);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return path;
}

_Noreturn void cw_test_skip(const char *why)
{
    printf("SKIPPED: %s\n", why);
    fflush(stdout);
    exit(77);
}

char *cw_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    while (p) {
        size_t r = fread(p + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
        if (cap - n - 1 == 0) {
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (!p) return NULL;
    p[n] = '\0';
    if (len) *len = n;
    return p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cw_test_walk(const char *dir, cw_test_file_fn fn, void *ctx)
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
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                cw_test_walk(path, fn, ctx);
            else if (S_ISREG(st.st_mode))
                fn(path, ctx);
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

char *cw_test_read_if(const char *path, const char *ext, size_t *len)
{
    size_t n = strlen(path), e = strlen(ext);
    if (n <= e || strcmp(path + n - e, ext) != 0) return NULL;
    char *text = cw_test_read_file(path, len);
    if (!text) fail_msg("cannot read %s", path);
    return text;
}
