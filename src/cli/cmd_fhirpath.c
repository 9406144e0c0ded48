/*
 * cmd_fhirpath.c — `causeway fhirpath [options] EXPR FILE`: evaluate a
 * FHIRPath expression against a FHIR JSON resource and print the result
 * collection as JSON (format: docs/internals/fhirpath.md, "Output").
 *
 *   --var NAME=VALUE  define %NAME as the String VALUE (repeatable)
 *   --types           print each item as {"type": ..., "value": ...}
 *   --pretty          indent the output
 *   --strict          semantic checks against the resource's type
 *   FILE              a JSON file, or - for standard input
 *
 * Exit status: 0 evaluated (the result may be empty), 1 the expression,
 * the file or the evaluation failed (message on stderr), 2 usage.
 * The resource's data is never echoed in error messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fhir/fhirpath.h"
#include "json/json.h"

#define MAX_VARS  64
#define MAX_INPUT ((size_t)256 << 20)

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: causeway fhirpath [--var NAME=VALUE]... [--types] [--pretty] [--strict] EXPR FILE\n"
        "\n"
        "Evaluate the FHIRPath expression EXPR against the FHIR JSON resource in FILE\n"
        "(- for standard input) and print the result collection as a JSON array.\n"
        "  --var NAME=VALUE  define the environment variable %%NAME as the string VALUE\n"
        "  --types           print items as {\"type\": \"System.String\", \"value\": ...}\n"
        "  --pretty          indent the output\n"
        "  --strict          reject element names and constructs the resource type cannot have\n");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_INPUT) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (f != stdin) fclose(f);
    *len = n;
    return buf;
}

int cw_cmd_fhirpath(int argc, char **argv)
{
    struct cw_fhirpath_var vars[MAX_VARS];
    size_t n_vars = 0;
    unsigned out_flags = 0, comp_flags = 0;
    int indent = 0;
    const char *expr = NULL, *file = NULL;
    struct cw_arena *a = NULL;
    int rc = CW_EXIT_FAIL;

    a = cw_arena_new(0);
    if (!a) {
        fprintf(stderr, "causeway fhirpath: out of memory\n");
        return CW_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            usage(stdout);
            cw_arena_destroy(a);
            return CW_EXIT_OK;
        } else if (strcmp(s, "--types") == 0) {
            out_flags |= CW_FHIRPATH_JSON_TYPES;
        } else if (strcmp(s, "--pretty") == 0) {
            indent = 2;
        } else if (strcmp(s, "--strict") == 0) {
            comp_flags |= CW_FHIRPATH_STRICT;
        } else if (strcmp(s, "--var") == 0 && i + 1 < argc) {
            const char *nv = argv[++i];
            const char *eq = strchr(nv, '=');
            if (!eq || eq == nv || n_vars >= MAX_VARS) {
                fprintf(stderr, "causeway fhirpath: --var needs NAME=VALUE (at most %d)\n",
                        MAX_VARS);
                cw_arena_destroy(a);
                return CW_EXIT_USAGE;
            }
            struct cw_fhirpath_value *v = cw_arena_zalloc(a, sizeof *v);
            if (!v) break;
            v->kind = CW_FHIRPATH_STRING;
            v->u.s = eq + 1;
            v->len = (uint32_t)strlen(eq + 1);
            vars[n_vars].name = (cw_slice){nv, (size_t)(eq - nv)};
            vars[n_vars].value = (struct cw_fhirpath_coll){v, 1};
            n_vars++;
        } else if (s[0] == '-' && s[1] == '-') {
            fprintf(stderr, "causeway fhirpath: unknown option %s\n", s);
            usage(stderr);
            cw_arena_destroy(a);
            return CW_EXIT_USAGE;
        } else if (!expr) {
            expr = s;
        } else if (!file) {
            file = s;
        } else {
            usage(stderr);
            cw_arena_destroy(a);
            return CW_EXIT_USAGE;
        }
    }
    if (!expr || !file) {
        usage(stderr);
        cw_arena_destroy(a);
        return CW_EXIT_USAGE;
    }

    size_t len = 0;
    char *text = read_all(file, &len);
    if (!text) {
        fprintf(stderr, "causeway fhirpath: cannot read %s: %s\n", file, strerror(errno));
        cw_arena_destroy(a);
        return CW_EXIT_FAIL;
    }
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_json *res = NULL;
    struct cw_json_opts jo = {.flags = CW_JSON_ALLOW_BOM};
    struct cw_fhirpath_expr *e = NULL;
    struct cw_buf out;
    cw_buf_init(&out, 0);
    if (cw_json_parse(a, text, len, &jo, &res, &err) < 0) {
        fprintf(stderr, "causeway fhirpath: %s: line %u, column %u: %s\n", file, err.line,
                err.column, err.msg);
        goto done;
    }
    struct cw_fhirpath_opts co = {.flags = comp_flags};
    const struct cw_json *rt = cw_json_get(res, "resourceType");
    if (cw_json_is(rt, CW_JSON_STRING)) co.root_type = cw_fhir_type(cw_json_text(rt));
    if (cw_fhirpath_compile(cw_slice_cstr(expr), &co, &e, &err) < 0) {
        fprintf(stderr, "causeway fhirpath: %s\n", err.msg);
        goto done;
    }
    struct cw_fhirpath_env env = {.vars = vars, .n_vars = n_vars};
    struct cw_fhirpath_coll result;
    if (cw_fhirpath_eval(a, e, &env, res, &result, &err) < 0) {
        fprintf(stderr, "causeway fhirpath: %s\n", err.msg);
        goto done;
    }
    if (cw_fhirpath_write_json(&out, result, out_flags, indent) < 0) {
        fprintf(stderr, "causeway fhirpath: output too large\n");
        goto done;
    }
    fwrite(out.ptr, 1, out.len, stdout);
    fputc('\n', stdout);
    rc = fflush(stdout) == 0 ? CW_EXIT_OK : CW_EXIT_FAIL;
done:
    cw_buf_release(&out);
    cw_fhirpath_free(e);
    free(text);
    cw_arena_destroy(a);
    return rc;
}
