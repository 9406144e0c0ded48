/*
 * cmd_validate.c — `causeway validate`: validate FHIR R4 resources.
 *
 *   causeway validate [--profile URL]... [--load-profile FILE|DIR]...
 *                     [--compact] [--no-invariants] [--no-terminology] FILE...
 *
 * Each FILE (FHIR JSON or XML, sniffed; "-" is stdin) is validated with
 * cw_fhir_validate (src/fhir/fhir_validate.h) against its core definition,
 * the profiles named with --profile and those its meta.profile names. The
 * OperationOutcome of each file goes to stdout (pretty JSON, one per file,
 * in argument order); a one-line summary per file goes to stderr.
 * --load-profile reads StructureDefinitions (JSON or XML, a Bundle of them,
 * or every *.json / *.xml file of a folder) into a registry first.
 *
 * Exit status (cli.h): 0 no file has an error; 1 some file has an error or
 * could not be read; 2 usage or system error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "cli/cli.h"
#include "fhir/fhir.h"
#include "fhir/fhir_validate.h"
#include "fhir/fhir_xml.h"
#include "json/json.h"

#define VAL_MAX_INPUT ((size_t)256 << 20) /* 256 MiB */
#define MAX_PROFILES  64
#define MAX_DIR_FILES 10000

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    struct cw_buf b;
    cw_buf_init(&b, VAL_MAX_INPUT);
    char tmp[65536];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (cw_buf_append(&b, tmp, r) != 0) break;
    bool bad = ferror(f) || cw_buf_failed(&b);
    if (f != stdin) fclose(f);
    if (bad) {
        cw_buf_release(&b);
        return NULL;
    }
    cw_buf_putc(&b, 0);
    char *p = cw_buf_detach(&b, len);
    if (p && *len) (*len)--;
    return p;
}

static bool looks_xml(const char *p, size_t n)
{
    size_t i = 0;
    if (n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
    return i < n && p[i] == '<';
}

/* Parse FHIR JSON or XML into a resource tree. */
static int parse_resource(struct cw_arena *a, const char *p, size_t n, struct cw_json **out,
                          struct cw_err *err)
{
    if (looks_xml(p, n)) return cw_fhir_xml_read(a, p, n, NULL, out, err);
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT | CW_JSON_ALLOW_BOM};
    return cw_json_parse(a, p, n, &jo, out, err);
}

static void report_build(cw_slice url, const struct cw_err *err, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "validate: profile %.*s not compiled: %s\n", CW_SLICE_FMT(url), err->msg);
}

/* Add one resource (a StructureDefinition, or a Bundle of them) to the registry. */
static int add_resource(struct cw_fhir_registry *reg, struct cw_arena *a, const struct cw_json *res,
                        const char *name)
{
    const struct cw_json *rt = cw_json_get(res, "resourceType");
    if (cw_slice_eq_cstr(cw_json_text(rt), "Bundle")) {
        const struct cw_json *es = cw_json_get(res, "entry");
        for (size_t i = 0; cw_json_is(es, CW_JSON_ARRAY) && i < es->len; i++) {
            const struct cw_json *r = cw_json_get(cw_json_at(es, i), "resource");
            if (r && add_resource(reg, a, r, name) != 0) return -1;
        }
        return 0;
    }
    if (!cw_slice_eq_cstr(cw_json_text(rt), "StructureDefinition")) return 0;
    struct cw_buf b;
    cw_buf_init(&b, VAL_MAX_INPUT);
    int rc = cw_json_write(&b, res, 0);
    struct cw_err err;
    cw_err_clear(&err);
    if (rc == 0 && cw_fhir_registry_add(reg, b.ptr, b.len, &err) < 0) {
        fprintf(stderr, "validate: %s: %s\n", name, err.msg);
        /* a duplicate URL is not fatal: the first one wins */
        rc = err.issue == CW_ISSUE_DUPLICATE ? 0 : 0;
    }
    cw_buf_release(&b);
    return rc;
}

static int load_profile_file(struct cw_fhir_registry *reg, const char *path)
{
    size_t n;
    char *p = read_all(path, &n);
    if (!p) {
        fprintf(stderr, "validate: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *res = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    int rc = 0;
    if (!a || parse_resource(a, p, n, &res, &err) != 0) {
        fprintf(stderr, "validate: %s: not a FHIR resource: %s\n", path, err.msg);
        rc = -1;
    } else {
        rc = add_resource(reg, a, res, path);
    }
    cw_arena_destroy(a);
    free(p);
    return rc;
}

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcmp(name + n - e, ext) == 0;
}

static int load_profiles(struct cw_fhir_registry *reg, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "validate: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return load_profile_file(reg, path);
    /* sorted by name, so the registry sees the same order on every run */
    struct dirent **names = NULL;
    int nn = scandir(path, &names, NULL, alphasort);
    if (nn < 0) return -1;
    int rc = 0;
    size_t count = 0;
    for (int i = 0; i < nn; i++) {
        const char *nm = names[i]->d_name;
        if (count < MAX_DIR_FILES && (has_ext(nm, ".json") || has_ext(nm, ".xml"))) {
            char full[4096];
            /* only StructureDefinitions (and Bundles) are kept; other files are skipped quietly */
            if (snprintf(full, sizeof full, "%s/%s", path, nm) < (int)sizeof full) {
                if (load_profile_file(reg, full) != 0) rc = -1;
                count++;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: causeway validate [--profile URL]... [--load-profile FILE|DIR]...\n"
            "                         [--compact] [--no-invariants] [--no-terminology] FILE...\n");
}

int cw_cmd_validate(int argc, char **argv)
{
    cw_slice profiles[MAX_PROFILES];
    size_t n_profiles = 0;
    const char *loads[MAX_PROFILES];
    size_t n_loads = 0;
    const char *files[1024];
    size_t n_files = 0;
    unsigned flags = 0;
    int indent = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--profile") == 0 || strcmp(a, "--load-profile") == 0) && i + 1 < argc) {
            if (a[2] == 'p') {
                if (n_profiles == MAX_PROFILES) return usage(stderr), CW_EXIT_USAGE;
                profiles[n_profiles++] = cw_slice_cstr(argv[++i]);
            } else {
                if (n_loads == MAX_PROFILES) return usage(stderr), CW_EXIT_USAGE;
                loads[n_loads++] = argv[++i];
            }
        } else if (strcmp(a, "--compact") == 0) {
            indent = 0;
        } else if (strcmp(a, "--no-invariants") == 0) {
            flags |= CW_FHIR_VALIDATE_NO_INVARIANTS;
        } else if (strcmp(a, "--no-terminology") == 0) {
            flags |= CW_FHIR_VALIDATE_NO_TERMINOLOGY;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CW_EXIT_OK;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "validate: unknown option %s\n", a);
            usage(stderr);
            return CW_EXIT_USAGE;
        } else {
            if (n_files == sizeof files / sizeof files[0]) return usage(stderr), CW_EXIT_USAGE;
            files[n_files++] = a;
        }
    }
    if (n_files == 0) {
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    struct cw_fhir_registry *reg = NULL;
    if (n_loads) {
        reg = cw_fhir_registry_new();
        if (!reg) return CW_EXIT_USAGE;
        for (size_t i = 0; i < n_loads; i++)
            if (load_profiles(reg, loads[i]) != 0) {
                cw_fhir_registry_free(reg);
                return CW_EXIT_USAGE;
            }
        cw_fhir_registry_build(reg, report_build, NULL);
    }
    int status = CW_EXIT_OK;
    struct cw_buf out;
    cw_buf_init(&out, VAL_MAX_INPUT);
    for (size_t f = 0; f < n_files; f++) {
        size_t n;
        char *p = read_all(files[f], &n);
        if (!p) {
            fprintf(stderr, "validate: cannot read %s: %s\n", files[f], strerror(errno));
            status = CW_EXIT_FAIL;
            continue;
        }
        struct cw_arena *a = cw_arena_new(0);
        struct cw_json *res = NULL;
        struct cw_err err;
        cw_err_clear(&err);
        struct cw_fhir_vresult vr;
        memset(&vr, 0, sizeof vr);
        if (!a) {
            free(p);
            status = CW_EXIT_USAGE;
            break;
        }
        if (parse_resource(a, p, n, &res, &err) != 0) {
            /* the document itself is unreadable: a fatal structure issue */
            struct cw_fhir_vissue *is = cw_arena_zalloc(a, sizeof *is);
            char loc[64] = "";
            if (err.line) snprintf(loc, sizeof loc, "line %u, column %u", err.line, err.column);
            if (is) {
                is->severity = CW_SEV_FATAL;
                is->code = err.issue ? err.issue : CW_ISSUE_STRUCTURE;
                is->message = cw_arena_strndup(a, err.msg, strlen(err.msg));
                is->location = err.location[0]
                                   ? cw_arena_strndup(a, err.location, strlen(err.location))
                                   : cw_arena_strndup(a, loc, strlen(loc));
                is->rule = "";
                vr.issues = is;
                vr.n = 1;
                vr.n_fatal = 1;
            }
        } else {
            struct cw_fhir_vopts o = {
                .flags = flags, .registry = reg, .profiles = profiles, .n_profiles = n_profiles};
            if (cw_fhir_validate(a, res, &o, &vr, &err) != 0) {
                fprintf(stderr, "validate: %s: %s\n", files[f], err.msg);
                status = CW_EXIT_FAIL;
            }
        }
        struct cw_json *oo = cw_fhir_validate_outcome(a, &vr);
        cw_buf_reset(&out);
        if (oo && cw_json_write(&out, oo, indent) == 0) {
            fwrite(out.ptr, 1, out.len, stdout);
            fputc('\n', stdout);
        }
        fprintf(stderr, "%s: %zu error(s), %zu warning(s), %zu information\n", files[f],
                vr.n_error + vr.n_fatal, vr.n_warning, vr.n_info);
        if (!cw_fhir_vresult_ok(&vr)) status = CW_EXIT_FAIL;
        cw_arena_destroy(a);
        free(p);
    }
    cw_buf_release(&out);
    cw_fhir_registry_free(reg);
    return status;
}
