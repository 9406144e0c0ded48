/*
 * cmd_json.c — `causeway json check|pretty`: validate or re-format JSON files.
 *
 *   causeway json check [--strict] [--max-bytes SIZE] FILE...
 *   causeway json pretty [--indent N | --compact] [--strict] [--max-bytes SIZE] FILE
 *
 * FILE "-" is standard input. Every input is read whole, up to a cap
 * (--max-bytes, default 64 MiB), and parsed with src/json in an arena whose
 * ceiling scales with the input, so a hostile file costs bounded memory.
 * A leading UTF-8 byte order mark is skipped (RFC 8259 section 8.1 allows
 * parsers to ignore it). Errors are printed as FILE:LINE:COLUMN: error: MSG
 * (the compiler convention editors understand); messages never quote file
 * content.
 *
 * Exit status (cli.h): 0 all inputs valid / written; 1 some input is not
 * valid JSON; 2 usage error or an input could not be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "cli/cli.h"
#include "json/json.h"

#define DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define MAX_INDENT        16

static void json_usage(FILE *out)
{
    fprintf(out,
            "usage: causeway json check [--strict] [--max-bytes SIZE] FILE...\n"
            "       causeway json pretty [--indent N | --compact] [--strict] [--max-bytes SIZE] "
            "FILE\n"
            "\n"
            "  check    parse every FILE; print FILE:LINE:COLUMN: error: MESSAGE for each\n"
            "           invalid one. Exit 0 when all are valid JSON, 1 when any is not,\n"
            "           2 on usage errors or unreadable files.\n"
            "  pretty   parse FILE and write it to standard output, indented\n"
            "\n"
            "  --indent N       spaces per level for pretty, 1..%d (default 2)\n"
            "  --compact        pretty without any whitespace (one line)\n"
            "  --strict         also reject duplicate object keys (FHIR JSON rule)\n"
            "  --max-bytes SIZE refuse larger inputs (default 64M; K, M, G suffixes)\n"
            "\n"
            "FILE '-' reads standard input. Numbers are written exactly as they were\n"
            "given (1.50 stays 1.50); a leading UTF-8 byte order mark is ignored.\n",
            MAX_INDENT);
}

/* "123", "64K", "64M", "1G" -> bytes. -1 when malformed or zero. */
static int parse_size(const char *s, size_t *out)
{
    size_t n = strlen(s);
    unsigned long long mult = 1;
    if (n && (s[n - 1] == 'K' || s[n - 1] == 'k'))
        mult = 1ULL << 10, n--;
    else if (n && (s[n - 1] == 'M' || s[n - 1] == 'm'))
        mult = 1ULL << 20, n--;
    else if (n && (s[n - 1] == 'G' || s[n - 1] == 'g'))
        mult = 1ULL << 30, n--;
    unsigned long long v;
    if (cw_slice_to_u64((cw_slice){s, n}, &v) < 0 || v == 0 || v > SIZE_MAX / mult) return -1;
    *out = (size_t)(v * mult);
    return 0;
}

/*
 * Read all of path ("-" = stdin) into a malloc'ed buffer, at most max bytes.
 * Returns 0; 1 when the input is larger than max (*len = max + 1); -1 on an
 * I/O error (errno set).
 */
static int read_input(const char *path, size_t max, char **data, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t cap = 64 << 10, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        rc = -1;
        errno = ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) break; /* already holds more than max */
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            if (ncap <= cap) ncap = cap + 1;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = -1;
                errno = ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            goto out;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n > max) break;
    }
    if (n > max) rc = 1;
out:
    if (fd != STDIN_FILENO) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    if (rc < 0) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return rc;
}

struct json_args {
    unsigned flags;
    size_t max_bytes;
    int indent;
};

/*
 * Read and parse one input. On success *root is in *arena (caller destroys
 * it) and *data holds the input (caller frees it). Returns 0, 1 (invalid
 * JSON, reported) or 2 (unreadable, reported).
 */
static int load(const char *path, const struct json_args *args, struct cw_arena **arena,
                char **data, struct cw_json **root)
{
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    size_t len = 0;
    *data = NULL;
    *arena = NULL;
    int r = read_input(path, args->max_bytes, data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: error: cannot read: %s\n", name, strerror(errno));
        return 2;
    }
    if (r > 0) {
        fprintf(stderr, "%s: error: input is larger than the limit of %zu bytes (--max-bytes)\n",
                name, args->max_bytes);
        free(*data);
        *data = NULL;
        return 1;
    }
    /* A tree takes at most 8 bytes of nodes per input byte ("[0,0,...]"). */
    size_t limit = len > (SIZE_MAX - (1u << 20)) / 10 ? SIZE_MAX : len * 10 + (1u << 20);
    *arena = cw_arena_new(limit);
    if (!*arena) {
        fprintf(stderr, "%s: error: out of memory\n", name);
        free(*data);
        *data = NULL;
        return 2;
    }
    struct cw_json_opts opts = {.flags = args->flags | CW_JSON_ALLOW_BOM,
                                .max_bytes = args->max_bytes};
    struct cw_err err;
    if (cw_json_parse(*arena, *data, len, &opts, root, &err) < 0) {
        if (err.line)
            fprintf(stderr, "%s:%u:%u: error: %s\n", name, err.line, err.column, err.msg);
        else
            fprintf(stderr, "%s: error: %s\n", name, err.msg);
        return 1;
    }
    return 0;
}

static int cmd_check(int nfiles, char **files, const struct json_args *args)
{
    int status = CW_EXIT_OK;
    for (int i = 0; i < nfiles; i++) {
        struct cw_arena *arena;
        char *data;
        struct cw_json *root;
        int r = load(files[i], args, &arena, &data, &root);
        if (r > status) status = r;
        cw_arena_destroy(arena);
        free(data);
    }
    return status;
}

static int cmd_pretty(const char *file, const struct json_args *args)
{
    struct cw_arena *arena;
    char *data;
    struct cw_json *root;
    int r = load(file, args, &arena, &data, &root);
    if (r == 0) {
        struct cw_buf out;
        cw_buf_init(&out, 0);
        if (cw_json_write(&out, root, args->indent) < 0 || cw_buf_putc(&out, '\n') < 0) {
            fprintf(stderr, "%s: error: output larger than %zu bytes\n",
                    strcmp(file, "-") == 0 ? "<stdin>" : file, (size_t)CW_BUF_DEFAULT_MAX);
            r = 1;
        } else if (fwrite(out.ptr, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
            fprintf(stderr, "causeway json: cannot write output: %s\n", strerror(errno));
            r = 2;
        }
        cw_buf_release(&out);
    }
    cw_arena_destroy(arena);
    free(data);
    return r;
}

int cw_cmd_json(int argc, char **argv)
{
    if (argc < 2) {
        json_usage(stderr);
        return CW_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        json_usage(stdout);
        return CW_EXIT_OK;
    }
    bool check = strcmp(sub, "check") == 0, pretty = strcmp(sub, "pretty") == 0;
    if (!check && !pretty) {
        fprintf(stderr, "causeway json: unknown subcommand '%s'\n", sub);
        json_usage(stderr);
        return CW_EXIT_USAGE;
    }

    struct json_args args = {.flags = 0, .max_bytes = DEFAULT_MAX_BYTES, .indent = 2};
    char **files = calloc((size_t)argc, sizeof *files);
    if (!files) return CW_EXIT_USAGE;
    int nfiles = 0, status;
    bool options_done = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            files[nfiles++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            json_usage(stdout);
            free(files);
            return CW_EXIT_OK;
        } else if (strcmp(a, "--strict") == 0) {
            args.flags |= CW_JSON_STRICT;
        } else if (pretty && strcmp(a, "--compact") == 0) {
            args.indent = 0;
        } else if (pretty && strcmp(a, "--indent") == 0 && i + 1 < argc) {
            long long v;
            if (cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) < 0 || v < 1 || v > MAX_INDENT) {
                fprintf(stderr, "causeway json: --indent wants a number from 1 to %d\n",
                        MAX_INDENT);
                free(files);
                return CW_EXIT_USAGE;
            }
            args.indent = (int)v;
        } else if (strcmp(a, "--max-bytes") == 0 && i + 1 < argc) {
            if (parse_size(argv[++i], &args.max_bytes) < 0) {
                fprintf(stderr, "causeway json: --max-bytes wants a size such as 1048576 or 64M\n");
                free(files);
                return CW_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "causeway json %s: unknown option '%s'\n", sub, a);
            json_usage(stderr);
            free(files);
            return CW_EXIT_USAGE;
        }
    }
    if (nfiles == 0 || (pretty && nfiles != 1)) {
        fprintf(stderr, "causeway json %s: %s\n", sub,
                nfiles == 0 ? "no input file (use - for standard input)"
                            : "pretty takes exactly one file");
        json_usage(stderr);
        free(files);
        return CW_EXIT_USAGE;
    }
    status = check ? cmd_check(nfiles, files, &args) : cmd_pretty(files[0], &args);
    free(files);
    return status;
}
