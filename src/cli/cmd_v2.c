/*
 * cmd_v2.c — `causeway v2`: parse, query, validate and acknowledge HL7 v2
 * messages from a file (or stdin with "-").
 *
 *   causeway v2 parse FILE [--json] [--strict]
 *   causeway v2 get FILE PATH [--strict]
 *   causeway v2 validate FILE [--json] [--strict]
 *   causeway v2 ack FILE [--strict]
 *
 * A file may hold several messages and batches (cw_hl7v2_parse_file).
 * Exit status: 0 ok; 1 a message failed to parse, the path was not found,
 * or validation found errors; 2 usage or I/O error.
 *
 * This prints field values: it is a tool for people looking at their own
 * messages on their own terminal, not a log. Diagnostics on stderr carry
 * codes and locations only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "hl7v2/hl7v2.h"

#define MAX_INPUT ((size_t)1 << 30)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: causeway v2 parse FILE [--json] [--strict]\n"
            "       causeway v2 get FILE PATH [--strict]\n"
            "       causeway v2 validate FILE [--json] [--strict]\n"
            "       causeway v2 ack FILE [--strict]\n"
            "\n"
            "FILE may hold several messages and FHS/BHS batches; '-' reads stdin.\n"
            "PATH is SEG[occ]-FIELD[rep].COMP.SUB, 1-based: PID-5[2].1, OBX[3]-5, PID-3(1).4.2.\n"
            "Lenient by default (irregularities are warnings); --strict rejects them.\n");
}

static char *read_input(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    struct cw_buf b;
    cw_buf_init(&b, MAX_INPUT);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (cw_buf_append(&b, chunk, n) < 0) break;
    bool bad = ferror(f) || cw_buf_failed(&b);
    if (f != stdin) fclose(f);
    if (bad) {
        cw_buf_release(&b);
        errno = errno ? errno : EFBIG;
        return NULL;
    }
    return cw_buf_detach(&b, len);
}

/* Print text with control characters made visible. */
static void put_visible(FILE *out, cw_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static void put_json_str(FILE *out, cw_slice s)
{
    fputc('"', out);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        switch (c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

static void put_err_text(FILE *out, const struct cw_err *e)
{
    fprintf(out, "%s %d%s%s: %s", cw_severity_code(e->severity), (int)cw_err_v2_code(e),
            e->location[0] ? " " : "", e->location, e->msg);
}

static void put_err_json(FILE *out, const struct cw_err *e)
{
    fprintf(out, "{\"severity\":\"%s\",\"code\":%d,\"issue\":\"%s\",\"location\":",
            cw_severity_code(e->severity), (int)cw_err_v2_code(e), cw_issue_code(e->issue));
    put_json_str(out, cw_slice_cstr(e->location));
    fputs(",\"message\":", out);
    put_json_str(out, cw_slice_cstr(e->msg));
    fputc('}', out);
}

static cw_slice decoded(struct cw_arena *a, const struct cw_hl7v2_msg *m,
                        const struct cw_hl7v2_node *n)
{
    cw_slice out;
    if (cw_hl7v2_decode(a, m, cw_hl7v2_text(n), &out, NULL) < 0) return cw_hl7v2_text(n);
    return out;
}

static cw_slice msh_text(const struct cw_hl7v2_msg *m, uint32_t f)
{
    return cw_hl7v2_text(cw_hl7v2_field(cw_hl7v2_seg_at(m, 0), f));
}

/* ---- tree output ---- */

static void tree_leaf(FILE *out, struct cw_arena *a, const struct cw_hl7v2_msg *m, const char *path,
                      const struct cw_hl7v2_node *n)
{
    if (!n || n->len == 0) return;
    fprintf(out, "  %s ", path);
    put_visible(out, decoded(a, m, n));
    fputc('\n', out);
}

static void tree_message(FILE *out, struct cw_arena *a, const struct cw_hl7v2_msg *m)
{
    for (uint32_t i = 0; i < m->nsegs; i++) {
        const struct cw_hl7v2_node *s = cw_hl7v2_seg_at(m, i);
        cw_slice id = cw_hl7v2_seg_id(s);
        uint32_t occ = 0;
        for (uint32_t j = 0; j <= i; j++)
            occ += cw_slice_eq(cw_hl7v2_seg_id(cw_hl7v2_seg_at(m, j)), id);
        char seg[32];
        if (occ > 1)
            snprintf(seg, sizeof seg, "%.*s[%u]", (int)(id.len > 3 ? 3 : id.len), id.ptr, occ);
        else
            snprintf(seg, sizeof seg, "%.*s", (int)(id.len > 3 ? 3 : id.len), id.ptr);
        put_visible(out, id);
        fputc('\n', out);
        bool header = id.len == 3 && (!memcmp(id.ptr, "MSH", 3) || !memcmp(id.ptr, "FHS", 3) ||
                                      !memcmp(id.ptr, "BHS", 3));
        uint32_t nf = cw_hl7v2_field_count(s);
        for (uint32_t f = 1; f <= nf; f++) {
            const struct cw_hl7v2_node *fn = cw_hl7v2_field(s, f);
            char path[96];
            if (header && f <= 2) {
                fprintf(out, "  %s-%u ", seg, f);
                put_visible(out, cw_hl7v2_text(fn));
                fputc('\n', out);
                continue;
            }
            uint32_t nr = cw_hl7v2_rep_count(fn);
            for (uint32_t r = 1; r <= nr; r++) {
                const struct cw_hl7v2_node *rn = cw_hl7v2_rep(fn, r);
                uint32_t nc = cw_hl7v2_comp_count(rn);
                for (uint32_t c = 1; c <= nc; c++) {
                    const struct cw_hl7v2_node *cn = cw_hl7v2_comp(rn, c);
                    uint32_t ns = cw_hl7v2_sub_count(cn);
                    for (uint32_t k = 1; k <= ns; k++) {
                        int len = snprintf(path, sizeof path, "%s-%u", seg, f);
                        if (nr > 1)
                            len += snprintf(path + len, sizeof path - (size_t)len, "[%u]", r);
                        if (nc > 1 || ns > 1)
                            len += snprintf(path + len, sizeof path - (size_t)len, ".%u", c);
                        if (ns > 1) snprintf(path + len, sizeof path - (size_t)len, ".%u", k);
                        tree_leaf(out, a, m, path, cw_hl7v2_sub(cn, k));
                    }
                }
            }
        }
    }
}

/* ---- JSON output ---- */

static void json_node(FILE *out, struct cw_arena *a, const struct cw_hl7v2_msg *m,
                      const struct cw_hl7v2_node *n, int level)
{
    /* level: CW_HL7V2_FIELD, _REP, _COMP, _SUB (what n is) */
    if (!n || n->n == 0 || level >= CW_HL7V2_SUB) {
        put_json_str(out, n ? decoded(a, m, n) : CW_SLICE_NULL);
        return;
    }
    uint32_t cnt;
    const struct cw_hl7v2_node *(*get)(const struct cw_hl7v2_node *, uint32_t);
    int next;
    if (level == CW_HL7V2_FIELD) {
        cnt = cw_hl7v2_rep_count(n), get = cw_hl7v2_rep, next = CW_HL7V2_REP;
    } else if (level == CW_HL7V2_REP) {
        cnt = cw_hl7v2_comp_count(n), get = cw_hl7v2_comp, next = CW_HL7V2_COMP;
    } else {
        cnt = cw_hl7v2_sub_count(n), get = cw_hl7v2_sub, next = CW_HL7V2_SUB;
    }
    fputc('[', out);
    for (uint32_t i = 1; i <= cnt; i++) {
        if (i > 1) fputc(',', out);
        json_node(out, a, m, get(n, i), next);
    }
    fputc(']', out);
}

static void json_message(FILE *out, struct cw_arena *a, const struct cw_hl7v2_msg *m)
{
    fputs("\"segments\":[", out);
    for (uint32_t i = 0; i < m->nsegs; i++) {
        const struct cw_hl7v2_node *s = cw_hl7v2_seg_at(m, i);
        cw_slice id = cw_hl7v2_seg_id(s);
        bool header = id.len == 3 && (!memcmp(id.ptr, "MSH", 3) || !memcmp(id.ptr, "FHS", 3) ||
                                      !memcmp(id.ptr, "BHS", 3));
        fputs(i ? ",{\"id\":" : "{\"id\":", out);
        put_json_str(out, id);
        fputs(",\"fields\":[", out);
        uint32_t nf = cw_hl7v2_field_count(s);
        for (uint32_t f = 1; f <= nf; f++) {
            if (f > 1) fputc(',', out);
            const struct cw_hl7v2_node *fn = cw_hl7v2_field(s, f);
            if (header && f <= 2) {
                put_json_str(out, cw_hl7v2_text(fn));
                continue;
            }
            /* a field with structure is a list of repetitions */
            if (fn->n && fn->kind != CW_HL7V2_REP) {
                fputc('[', out);
                json_node(out, a, m, fn, CW_HL7V2_REP);
                fputc(']', out);
            } else {
                json_node(out, a, m, fn, CW_HL7V2_FIELD);
            }
        }
        fputs("]}", out);
    }
    fputc(']', out);
}

/* ---- subcommands ---- */

struct args {
    const char *file;
    const char *path;
    bool json, strict;
};

static int parse_args(int argc, char **argv, int npos, struct args *a)
{
    memset(a, 0, sizeof *a);
    int pos = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            a->json = true;
        else if (strcmp(argv[i], "--strict") == 0)
            a->strict = true;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return -1;
        else if (pos == 0)
            a->file = argv[i], pos++;
        else if (pos == 1)
            a->path = argv[i], pos++;
        else
            return -1;
    }
    return pos == npos ? 0 : -1;
}

static int load(const struct args *ar, struct cw_arena **a, char **data,
                struct cw_hl7v2_file **file)
{
    size_t len = 0;
    *data = read_input(ar->file, &len);
    if (!*data) {
        fprintf(stderr, "causeway v2: cannot read %s: %s\n", ar->file, strerror(errno));
        return CW_EXIT_USAGE;
    }
    *a = cw_arena_new(len * 64 > CW_ARENA_DEFAULT_LIMIT ? len * 64 : 0);
    if (!*a) {
        fprintf(stderr, "causeway v2: out of memory\n");
        return CW_EXIT_USAGE;
    }
    struct cw_hl7v2_opts opts = {0};
    if (ar->strict) opts.flags |= CW_HL7V2_STRICT;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_hl7v2_parse_file(*a, (cw_slice){*data, len}, &opts, file, &err) < 0) {
        fprintf(stderr, "causeway v2: %s: ", ar->file);
        put_err_text(stderr, &err);
        fputc('\n', stderr);
        return CW_EXIT_FAIL;
    }
    for (uint32_t i = 0; i < (*file)->nwarnings; i++) {
        fprintf(stderr, "causeway v2: %s: file: ", ar->file);
        put_err_text(stderr, &(*file)->warnings[i]);
        fputc('\n', stderr);
    }
    return CW_EXIT_OK;
}

static int cmd_parse(const struct args *ar)
{
    struct cw_arena *a = NULL;
    char *data = NULL;
    struct cw_hl7v2_file *file = NULL;
    int rc = load(ar, &a, &data, &file);
    if (rc != CW_EXIT_OK) goto done;
    FILE *out = stdout;
    if (ar->json) fputs("{\"messages\":[", out);
    for (uint32_t i = 0; i < file->nitems; i++) {
        const struct cw_hl7v2_item *it = &file->items[i];
        const struct cw_hl7v2_msg *m = it->msg;
        if (ar->json) {
            fprintf(out, "%s{\"index\":%u,\"ok\":%s", i ? "," : "", i + 1, m ? "true" : "false");
            if (!m) {
                fputs(",\"error\":", out);
                put_err_json(out, &it->err);
                fputc('}', out);
                rc = CW_EXIT_FAIL;
                continue;
            }
            fputs(",\"version\":", out);
            put_json_str(out, cw_hl7v2_text(cw_hl7v2_comp(
                                  cw_hl7v2_rep(cw_hl7v2_field(cw_hl7v2_seg_at(m, 0), 12), 1), 1)));
            fputs(",\"type\":", out);
            put_json_str(out, msh_text(m, 9));
            fputc(',', out);
            json_message(out, a, m);
            fputs(",\"warnings\":[", out);
            for (uint32_t w = 0; w < m->nwarnings; w++) {
                if (w) fputc(',', out);
                put_err_json(out, &m->warnings[w]);
            }
            fprintf(out, "],\"warnings_dropped\":%u}", m->warnings_dropped);
            continue;
        }
        if (!m) {
            fprintf(out, "message %u: not parsed: ", i + 1);
            put_err_text(out, &it->err);
            fputc('\n', out);
            rc = CW_EXIT_FAIL;
            continue;
        }
        fprintf(out, "message %u: ", i + 1);
        put_visible(out, msh_text(m, 9));
        fputs(" version ", out);
        put_visible(out, msh_text(m, 12));
        fprintf(out, ", %u segments, %u warnings\n", m->nsegs, m->nwarnings + m->warnings_dropped);
        tree_message(out, a, m);
        for (uint32_t w = 0; w < m->nwarnings; w++) {
            put_err_text(out, &m->warnings[w]);
            fputc('\n', out);
        }
    }
    if (ar->json) fputs("]}\n", out);
done:
    cw_arena_destroy(a);
    free(data);
    return rc;
}

static int cmd_get(const struct args *ar)
{
    struct cw_hl7v2_path p;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_hl7v2_path_parse(cw_slice_cstr(ar->path), &p, &err) < 0) {
        fprintf(stderr, "causeway v2 get: %s\n", err.msg);
        return CW_EXIT_USAGE;
    }
    struct cw_arena *a = NULL;
    char *data = NULL;
    struct cw_hl7v2_file *file = NULL;
    int rc = load(ar, &a, &data, &file);
    if (rc != CW_EXIT_OK) goto done;
    bool any = false;
    for (uint32_t i = 0; i < file->nitems; i++) {
        const struct cw_hl7v2_msg *m = file->items[i].msg;
        if (!m) {
            fprintf(stderr, "causeway v2 get: message %u: ", i + 1);
            put_err_text(stderr, &file->items[i].err);
            fputc('\n', stderr);
            rc = CW_EXIT_FAIL;
            continue;
        }
        cw_slice v;
        bool found = false;
        if (cw_hl7v2_get(a, m, cw_slice_cstr(ar->path), &v, &found, NULL, &err) < 0) {
            fprintf(stderr, "causeway v2 get: %s\n", err.msg);
            rc = CW_EXIT_FAIL;
            break;
        }
        if (!found) continue;
        any = true;
        fwrite(v.ptr, 1, v.len, stdout);
        fputc('\n', stdout);
    }
    if (!any && rc == CW_EXIT_OK) {
        fprintf(stderr, "causeway v2 get: %s is not present\n", ar->path);
        rc = CW_EXIT_FAIL;
    }
done:
    cw_arena_destroy(a);
    free(data);
    return rc;
}

static int cmd_validate(const struct args *ar)
{
    struct cw_arena *a = NULL;
    char *data = NULL;
    struct cw_hl7v2_file *file = NULL;
    int rc = load(ar, &a, &data, &file);
    if (rc != CW_EXIT_OK) goto done;
    FILE *out = stdout;
    if (ar->json) fputs("{\"messages\":[", out);
    for (uint32_t i = 0; i < file->nitems; i++) {
        const struct cw_hl7v2_item *it = &file->items[i];
        if (ar->json) fprintf(out, "%s{\"index\":%u,\"issues\":[", i ? "," : "", i + 1);
        if (!it->msg) {
            rc = CW_EXIT_FAIL;
            if (ar->json) {
                put_err_json(out, &it->err);
                fputs("]}", out);
            } else {
                fprintf(out, "message %u: ", i + 1);
                put_err_text(out, &it->err);
                fputc('\n', out);
            }
            continue;
        }
        struct cw_hl7v2_issues is;
        struct cw_err err;
        cw_err_clear(&err);
        if (cw_hl7v2_validate(a, it->msg, NULL, &is, &err) < 0) {
            fprintf(stderr, "causeway v2 validate: %s\n", err.msg);
            rc = CW_EXIT_USAGE;
            break;
        }
        bool first = true;
        for (uint32_t w = 0; w < it->msg->nwarnings; w++, first = false) {
            if (ar->json) {
                if (!first) fputc(',', out);
                put_err_json(out, &it->msg->warnings[w]);
            } else {
                fprintf(out, "message %u: ", i + 1);
                put_err_text(out, &it->msg->warnings[w]);
                fputc('\n', out);
            }
        }
        for (uint32_t k = 0; k < is.n; k++, first = false) {
            if (ar->json) {
                if (!first) fputc(',', out);
                put_err_json(out, &is.items[k]);
            } else {
                fprintf(out, "message %u: ", i + 1);
                put_err_text(out, &is.items[k]);
                fputc('\n', out);
            }
        }
        if (ar->json)
            fprintf(out, "],\"errors\":%u,\"warnings\":%u,\"dropped\":%u}", is.errors,
                    is.warnings + it->msg->nwarnings, is.dropped);
        else
            fprintf(out, "message %u: %u error(s), %u warning(s)%s\n", i + 1, is.errors,
                    is.warnings + it->msg->nwarnings, is.dropped ? " (some not shown)" : "");
        if (is.errors) rc = CW_EXIT_FAIL;
    }
    if (ar->json) fputs("]}\n", out);
done:
    cw_arena_destroy(a);
    free(data);
    return rc;
}

static void print_wire(FILE *out, const struct cw_hl7v2_msg *m)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    if (cw_hl7v2_write(m, CW_HL7V2_WRITE_CR, &b, NULL) == 0) {
        /* segments on their own lines for the terminal */
        for (size_t i = 0; i < b.len; i++) fputc(b.ptr[i] == '\r' ? '\n' : b.ptr[i], out);
        fputc('\n', out);
    }
    cw_buf_release(&b);
}

static int cmd_ack(const struct args *ar)
{
    struct cw_arena *a = NULL;
    char *data = NULL;
    struct cw_hl7v2_file *file = NULL;
    int rc = load(ar, &a, &data, &file);
    if (rc != CW_EXIT_OK) goto done;
    for (uint32_t i = 0; i < file->nitems; i++) {
        const struct cw_hl7v2_item *it = &file->items[i];
        struct cw_hl7v2_msg *ack = NULL;
        struct cw_err err;
        cw_err_clear(&err);
        struct cw_hl7v2_ack_opts o = {0};
        int r;
        if (!it->msg) {
            r = cw_hl7v2_ack_build_raw(a, it->raw, &o, &it->err, 1, &ack, &err);
        } else {
            struct cw_hl7v2_issues is;
            if (cw_hl7v2_validate(a, it->msg, NULL, &is, &err) < 0) {
                rc = CW_EXIT_USAGE;
                break;
            }
            o.outcome = is.errors ? CW_HL7V2_ERROR : CW_HL7V2_ACCEPT;
            r = cw_hl7v2_ack_build(a, it->msg, &o, is.items, is.n, &ack, &err);
        }
        if (r < 0) {
            fprintf(stderr, "causeway v2 ack: message %u: %s\n", i + 1, err.msg);
            rc = CW_EXIT_FAIL;
            continue;
        }
        print_wire(stdout, ack);
    }
done:
    cw_arena_destroy(a);
    free(data);
    return rc;
}

int cw_cmd_v2(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CW_EXIT_USAGE : CW_EXIT_OK;
    }
    struct args ar;
    const char *sub = argv[1];
    int npos = strcmp(sub, "get") == 0 ? 2 : 1;
    if (parse_args(argc, argv, npos, &ar) < 0) {
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    if (strcmp(sub, "parse") == 0) return cmd_parse(&ar);
    if (strcmp(sub, "get") == 0) return cmd_get(&ar);
    if (strcmp(sub, "validate") == 0) return cmd_validate(&ar);
    if (strcmp(sub, "ack") == 0) return cmd_ack(&ar);
    fprintf(stderr, "causeway v2: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return CW_EXIT_USAGE;
}
