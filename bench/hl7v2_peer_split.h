/*
 * hl7v2_peer_split.h — split HL7 v2 files into messages exactly the way the
 * peer benchmark does (../shared/bench/peers/README.md, "Input rules", and
 * tasks/hl7v2-parse.js), so that item and byte counts match the peers'.
 *
 * Rules: files named *.hl7|txt|er7|msg|hl7v2 (any case) or without an
 * extension, under each folder, recursively, sorted by name, dot files
 * skipped; a leading UTF-8 BOM is dropped; lines end at "\r\n", "\r" or
 * "\n"; each line loses leading whitespace (JavaScript's \s, which includes
 * Unicode spaces) and MLLP bytes 0x0B/0x1C, and trailing 0x0B/0x1C; empty
 * lines and lines starting "FHS|", "BHS|", "BTS|", "FTS|" are dropped; a
 * line starting "MSH" starts a message (lines before the first are
 * dropped); a message is its lines joined with "\r", no final "\r".
 *
 * Used by bench/bench_hl7v2.c and tests/hl7v2/test_hl7v2_corpus.c. Header
 * only (static functions), test and benchmark code: exits nothing, returns
 * -1 on allocation failure.
 */
#ifndef CW_BENCH_HL7V2_PEER_SPLIT_H
#define CW_BENCH_HL7V2_PEER_SPLIT_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct peer_msg {
    char *data; /* malloc'ed, NUL-terminated */
    size_t len;
    const char *file; /* points into peer_msgs.files */
};

struct peer_msgs {
    struct peer_msg *v;
    size_t n, cap;
    char **files;
    size_t nfiles, files_cap;
};

/* Bytes of leading JavaScript whitespace (or 0x0B/0x1C) at p. */
static size_t peer_ws_len(const unsigned char *p, size_t n)
{
    if (n == 0) return 0;
    unsigned char c = p[0];
    if (c == 0x09 || c == 0x0a || c == 0x0b || c == 0x0c || c == 0x0d || c == 0x20 || c == 0x1c)
        return 1;
    unsigned cp = 0;
    size_t len = 0;
    if (c == 0xc2 && n >= 2)
        cp = (unsigned)(p[1] & 0x3f) | 0x80, len = 2;
    else if (c == 0xe1 && n >= 3)
        cp = 0x1000u | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f), len = 3;
    else if (c == 0xe2 && n >= 3)
        cp = 0x2000u | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f), len = 3;
    else if (c == 0xe3 && n >= 3)
        cp = 0x3000u | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f), len = 3;
    else if (c == 0xef && n >= 3)
        cp = 0xf000u | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f), len = 3;
    else
        return 0;
    if (cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
        cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff)
        return len;
    return 0;
}

static int peer_push(struct peer_msgs *out, const char *file, const char *buf, size_t len)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        struct peer_msg *v = realloc(out->v, cap * sizeof *v);
        if (!v) return -1;
        out->v = v;
        out->cap = cap;
    }
    char *d = malloc(len + 1);
    if (!d) return -1;
    memcpy(d, buf, len);
    d[len] = '\0';
    out->v[out->n++] = (struct peer_msg){d, len, file};
    return 0;
}

/* Split one file's bytes into messages appended to out. */
static int peer_split(struct peer_msgs *out, const char *file, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;
    char *cur = NULL;
    size_t cur_len = 0, cur_cap = 0;
    int have = 0;
    while (p <= end) {
        const char *le = p;
        while (le < end && *le != '\r' && *le != '\n') le++;
        const char *s = p, *e = le;
        size_t w;
        while (s < e && (w = peer_ws_len((const unsigned char *)s, (size_t)(e - s))) > 0) s += w;
        while (e > s && (e[-1] == 0x0b || e[-1] == 0x1c)) e--;
        size_t n = (size_t)(e - s);
        int skip = n == 0 || (n >= 4 && s[3] == '|' &&
                              (!memcmp(s, "FHS", 3) || !memcmp(s, "BHS", 3) ||
                               !memcmp(s, "BTS", 3) || !memcmp(s, "FTS", 3)));
        if (!skip) {
            int msh = n >= 3 && !memcmp(s, "MSH", 3);
            if (msh && have) {
                if (peer_push(out, file, cur, cur_len) < 0) return free(cur), -1;
                cur_len = 0;
            }
            if (msh) have = 1;
            if (have) {
                if (cur_len + n + 1 > cur_cap) {
                    size_t cap = (cur_len + n + 1) * 2;
                    char *c = realloc(cur, cap);
                    if (!c) return free(cur), -1;
                    cur = c;
                    cur_cap = cap;
                }
                if (cur_len) cur[cur_len++] = '\r';
                memcpy(cur + cur_len, s, n);
                cur_len += n;
            }
        }
        if (le >= end) break;
        p = le + ((*le == '\r' && le + 1 < end && le[1] == '\n') ? 2 : 1);
    }
    if (have && peer_push(out, file, cur, cur_len) < 0) return free(cur), -1;
    free(cur);
    return 0;
}

static int peer_name_ok(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 1;
    static const char *const ext[] = {".hl7", ".txt", ".er7", ".msg", ".hl7v2"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

static int peer_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *peer_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *d = malloc(cap);
    while (d) {
        size_t r = fread(d + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
        if (n == cap) {
            char *x = realloc(d, cap * 2);
            if (!x) {
                free(d);
                d = NULL;
                break;
            }
            d = x;
            cap *= 2;
        }
    }
    fclose(f);
    if (d) *len = n;
    return d;
}

/* Load every message under path (a folder, recursively, or one file). */
static int peer_load(struct peer_msgs *out, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(path, '/');
        if (!peer_name_ok(base ? base + 1 : path)) return 0;
        size_t len = 0;
        char *data = peer_read(path, &len);
        if (!data) return -1;
        if (out->nfiles == out->files_cap) {
            size_t cap = out->files_cap ? out->files_cap * 2 : 256;
            char **f = realloc(out->files, cap * sizeof *f);
            if (!f) return free(data), -1;
            out->files = f;
            out->files_cap = cap;
        }
        char *name = strdup(path);
        if (!name) return free(data), -1;
        out->files[out->nfiles++] = name;
        int r = peer_split(out, name, data, len);
        free(data);
        return r;
    }
    if (!S_ISDIR(st.st_mode)) return 0;
    DIR *d = opendir(path);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **x = realloc(names, cap * sizeof *x);
            if (!x) break;
            names = x;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, peer_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        if (rc == 0 && names[i] && peer_load(out, sub) < 0) rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

static void peer_free(struct peer_msgs *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->v[i].data);
    for (size_t i = 0; i < m->nfiles; i++) free(m->files[i]);
    free(m->v);
    free(m->files);
    memset(m, 0, sizeof *m);
}

#endif
