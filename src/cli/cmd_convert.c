/*
 * cmd_convert.c — `causeway convert`: turn a document from one format into
 * another.
 *
 *   causeway convert [--to json|xml] [--from FORMAT] [--pretty] [--lenient]
 *                    [--report] [-o OUT] FILE|-
 *
 * Every conversion goes through FHIR R4 JSON (the JSON DOM of src/json),
 * the form Causeway keeps resources in: an input format turns its document
 * into a FHIR resource, an output format writes a resource. So adding a
 * format is one table entry: inputs (FHIR JSON, FHIR XML now; HL7 v2 and
 * C-CDA later) have a sniffer that says how sure it is the bytes are its
 * format, and a reader; outputs (FHIR JSON, FHIR XML now; C-CDA, v2 later)
 * have a writer.
 *
 * HL7 v2 input (a file starting with MSH, FHS or BHS, or named *.hl7) goes
 * through the v2 -> FHIR mapping engine (convert/convert.h): each message
 * becomes one transaction Bundle; a file with several messages gives one
 * Bundle per message, one per line (NDJSON) unless --pretty. --report
 * lists what was not mapped (locations only, never values) on stderr.
 *
 * Exit status (cli.h): 0 converted; 1 the input could not be read or
 * converted (the error, with line/column and a FHIRPath location, goes to
 * stderr; never values from the document); 2 usage or system error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "cli/cli.h"
#include "convert/convert.h"
#include "hl7v2/hl7v2.h"
#include "fhir/fhir_xml.h"
#include "json/json.h"

#define MAX_INPUT ((size_t)256 << 20) /* 256 MiB */

struct conv_opts {
    bool pretty;
    bool lenient;
    bool report;
    const char *input_name; /* for messages */
};

/* ---- input formats: bytes -> FHIR resource (JSON DOM) ---- */

struct in_format {
    const char *name;
    const char *summary;
    /* 0 = not this format; higher = surer. data has no BOM. */
    int (*sniff)(cw_slice data);
    int (*read)(struct cw_arena *a, cw_slice data, const struct conv_opts *o, struct cw_json **out,
                struct cw_err *err);
};

static cw_slice skip_space(cw_slice s)
{
    while (s.len && (*s.ptr == ' ' || *s.ptr == '\t' || *s.ptr == '\r' || *s.ptr == '\n')) {
        s.ptr++;
        s.len--;
    }
    return s;
}

static bool contains(cw_slice s, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || s.len < n) return n == 0;
    for (size_t i = 0; i + n <= s.len; i++)
        if (s.ptr[i] == needle[0] && memcmp(s.ptr + i, needle, n) == 0) return true;
    return false;
}

static int sniff_fhir_json(cw_slice data)
{
    data = skip_space(data);
    if (!data.len || data.ptr[0] != '{') return 0;
    return contains(cw_slice_sub(data, 0, 1 << 16), "\"resourceType\"") ? 90 : 50;
}

static void warn_to_stderr(const struct cw_err *w, void *ctx)
{
    const struct conv_opts *o = ctx;
    if (w->line)
        fprintf(stderr, "%s:%u:%u: warning: %s%s%s\n", o->input_name, w->line, w->column,
                w->location, w->location[0] ? ": " : "", w->msg);
    else
        fprintf(stderr, "%s: warning: %s%s%s\n", o->input_name, w->location,
                w->location[0] ? ": " : "", w->msg);
}

static int read_fhir_json(struct cw_arena *a, cw_slice data, const struct conv_opts *o,
                          struct cw_json **out, struct cw_err *err)
{
    (void)o;
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT | CW_JSON_ALLOW_BOM};
    if (cw_json_parse(a, data.ptr, data.len, &jo, out, err) < 0) return -1;
    if (!cw_json_is(*out, CW_JSON_OBJECT) ||
        !cw_json_is(cw_json_get(*out, "resourceType"), CW_JSON_STRING))
        return cw_err_set(err, CW_ISSUE_STRUCTURE,
                          "not a FHIR resource (a JSON object with resourceType)");
    return 0;
}

static int sniff_fhir_xml(cw_slice data)
{
    data = skip_space(data);
    if (!data.len || data.ptr[0] != '<') return 0;
    /* the root's namespace declaration is near the top */
    return contains(cw_slice_sub(data, 0, 4096), "http://hl7.org/fhir") ? 90 : 10;
}

static int read_fhir_xml(struct cw_arena *a, cw_slice data, const struct conv_opts *o,
                         struct cw_json **out, struct cw_err *err)
{
    struct cw_fhir_xml_opts xo = {.flags = o->lenient ? CW_FHIR_XML_LENIENT : 0,
                                  .max_bytes = MAX_INPUT,
                                  .warn = warn_to_stderr,
                                  .warn_ctx = (void *)o};
    return cw_fhir_xml_read(a, data.ptr, data.len, &xo, out, err);
}

static int sniff_hl7v2(cw_slice data)
{
    while (data.len && (*data.ptr == 0x0b || *data.ptr == '\r' || *data.ptr == '\n')) {
        data.ptr++;
        data.len--;
    }
    if (data.len < 4) return 0;
    if (memcmp(data.ptr, "MSH", 3) == 0 || memcmp(data.ptr, "FHS", 3) == 0 ||
        memcmp(data.ptr, "BHS", 3) == 0)
        return 95;
    return 0;
}

/* Not used for reading: HL7 v2 files are handled by convert_v2() below. */
static int read_hl7v2(struct cw_arena *a, cw_slice data, const struct conv_opts *o,
                      struct cw_json **out, struct cw_err *err)
{
    (void)a, (void)data, (void)o, (void)out;
    return cw_err_set(err, CW_ISSUE_EXCEPTION, "internal: v2 input takes its own path");
}

static const struct in_format inputs[] = {
    {"fhir-json", "FHIR R4 JSON resource", sniff_fhir_json, read_fhir_json},
    {"fhir-xml", "FHIR R4 XML resource", sniff_fhir_xml, read_fhir_xml},
    {"hl7v2", "HL7 v2 message(s) -> FHIR transaction Bundle(s)", sniff_hl7v2, read_hl7v2},
};

/* ---- output formats: FHIR resource -> bytes ---- */

struct out_format {
    const char *name;
    const char *summary;
    int (*write)(struct cw_buf *out, const struct cw_json *res, const struct conv_opts *o,
                 struct cw_err *err);
};

static int write_json(struct cw_buf *out, const struct cw_json *res, const struct conv_opts *o,
                      struct cw_err *err)
{
    if (cw_json_write(out, res, o->pretty ? 2 : 0) < 0)
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "JSON output too large");
    cw_buf_putc(out, '\n');
    return 0;
}

static int write_xml(struct cw_buf *out, const struct cw_json *res, const struct conv_opts *o,
                     struct cw_err *err)
{
    struct cw_fhir_xml_opts xo = {.flags =
                                      CW_FHIR_XML_DECL | (o->lenient ? CW_FHIR_XML_LENIENT : 0),
                                  .indent = o->pretty ? 2 : 0,
                                  .warn = warn_to_stderr,
                                  .warn_ctx = (void *)o};
    if (cw_fhir_xml_write(out, res, &xo, err) < 0) return -1;
    if (!o->pretty) cw_buf_putc(out, '\n');
    return 0;
}

static const struct out_format outputs[] = {
    {"json", "FHIR R4 JSON", write_json},
    {"xml", "FHIR R4 XML", write_xml},
};

#define N_INPUTS  (sizeof inputs / sizeof inputs[0])
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])

/* ---- the command ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: causeway convert [--to FORMAT] [--from FORMAT] [--pretty] [--lenient]\n"
               "                        [-o OUT] FILE|-\n"
               "\n"
               "Converts a document (FILE, or - for standard input) and writes the result to\n"
               "standard output (or OUT). The input format is detected unless --from is given.\n"
               "\n"
               "input formats (--from):\n");
    for (size_t i = 0; i < N_INPUTS; i++)
        fprintf(f, "  %-10s %s\n", inputs[i].name, inputs[i].summary);
    fprintf(f, "output formats (--to, default json):\n");
    for (size_t i = 0; i < N_OUTPUTS; i++)
        fprintf(f, "  %-10s %s\n", outputs[i].name, outputs[i].summary);
    fprintf(f, "\n"
               "  --pretty   indent the output\n"
               "  --lenient  skip what cannot be converted (unknown elements, ...) with a\n"
               "             warning on stderr, instead of failing\n"
               "  --report   (hl7v2) list the segments, fields and components that were not\n"
               "             mapped, and invalid values, on stderr\n");
}

/* Read all of f (at most MAX_INPUT bytes). */
static char *read_all(FILE *f, size_t *len, bool *too_big)
{
    struct cw_buf b;
    cw_buf_init(&b, MAX_INPUT + 1);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (cw_buf_append(&b, chunk, n) < 0) break;
    *too_big = cw_buf_failed(&b);
    if (ferror(f) || *too_big) {
        cw_buf_release(&b);
        return NULL;
    }
    char *p = cw_buf_detach(&b, len);
    if (!p) {
        p = malloc(1);
        if (p) p[0] = '\0';
        *len = 0;
    }
    return p;
}

static void report(const struct conv_opts *o, const struct cw_err *e)
{
    if (e->line)
        fprintf(stderr, "causeway convert: %s:%u:%u: %s%s%s\n", o->input_name, e->line, e->column,
                e->location, e->location[0] ? ": " : "", e->msg);
    else
        fprintf(stderr, "causeway convert: %s: %s%s%s\n", o->input_name, e->location,
                e->location[0] ? ": " : "", e->msg);
}

/* HL7 v2 file -> one Bundle per message. */
static int convert_v2(cw_slice body, const struct conv_opts *o, const struct out_format *of,
                      const char *outfile)
{
    struct cw_arena *a = cw_arena_new((size_t)2 << 30);
    if (!a) {
        fprintf(stderr, "causeway convert: out of memory\n");
        return CW_EXIT_USAGE;
    }
    struct cw_hl7v2_file *file = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    int rc = CW_EXIT_OK;
    struct cw_buf out;
    cw_buf_init(&out, 0);
    if (cw_hl7v2_parse_file(a, body, NULL, &file, &err) != 0) {
        report(o, &err);
        rc = CW_EXIT_FAIL;
        goto done;
    }
    if (file->nitems == 0) {
        fprintf(stderr, "causeway convert: %s: no HL7 v2 message\n", o->input_name);
        rc = CW_EXIT_FAIL;
        goto done;
    }
    for (uint32_t i = 0; i < file->nitems; i++) {
        const struct cw_hl7v2_item *it = &file->items[i];
        if (!it->msg) {
            fprintf(stderr, "causeway convert: %s: message %u: %s%s%s\n", o->input_name, i + 1,
                    it->err.location, it->err.location[0] ? ": " : "", it->err.msg);
            rc = CW_EXIT_FAIL;
            continue;
        }
        struct cw_convert_result res;
        if (cw_convert_v2(a, it->msg, NULL, &res, &err) != 0) {
            fprintf(stderr, "causeway convert: %s: message %u: %s%s%s (v2 error %d)\n",
                    o->input_name, i + 1, err.location, err.location[0] ? ": " : "", err.msg,
                    (int)cw_err_v2_code(&err));
            rc = CW_EXIT_FAIL;
            continue;
        }
        if (o->report) {
            struct cw_buf rb;
            cw_buf_init(&rb, 0);
            if (file->nitems > 1) cw_buf_printf(&rb, "# message %u\n", i + 1);
            cw_convert_report_write(&res.report, &rb);
            fwrite(rb.ptr, 1, rb.len, stderr);
            cw_buf_release(&rb);
        }
        if (of->write(&out, res.bundle, o, &err) < 0) {
            report(o, &err);
            rc = CW_EXIT_FAIL;
            goto done;
        }
    }
    {
        FILE *f = outfile ? fopen(outfile, "wb") : stdout;
        if (!f || fwrite(out.ptr, 1, out.len, f) != out.len || (f != stdout && fclose(f) != 0) ||
            (f == stdout && fflush(stdout) != 0)) {
            fprintf(stderr, "causeway convert: cannot write %s\n", outfile ? outfile : "output");
            rc = CW_EXIT_USAGE;
        }
    }
done:
    cw_buf_release(&out);
    cw_arena_destroy(a);
    return rc;
}

int cw_cmd_convert(int argc, char **argv)
{
    struct conv_opts o = {0};
    const char *to = "json", *from = NULL, *outfile = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CW_EXIT_OK;
        } else if (strcmp(a, "--to") == 0 && i + 1 < argc) {
            to = argv[++i];
        } else if (strcmp(a, "--from") == 0 && i + 1 < argc) {
            from = argv[++i];
        } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
            outfile = argv[++i];
        } else if (strcmp(a, "--pretty") == 0) {
            o.pretty = true;
        } else if (strcmp(a, "--lenient") == 0) {
            o.lenient = true;
        } else if (strcmp(a, "--report") == 0) {
            o.report = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "causeway convert: unknown option %s\n", a);
            usage(stderr);
            return CW_EXIT_USAGE;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "causeway convert: one input at a time\n");
            return CW_EXIT_USAGE;
        }
    }
    if (!file) {
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    const struct out_format *of = NULL;
    for (size_t i = 0; i < N_OUTPUTS; i++)
        if (strcmp(to, outputs[i].name) == 0) of = &outputs[i];
    if (!of) {
        fprintf(stderr, "causeway convert: unknown output format '%s'\n", to);
        return CW_EXIT_USAGE;
    }
    const struct in_format *inf = NULL;
    if (from) {
        for (size_t i = 0; i < N_INPUTS; i++)
            if (strcmp(from, inputs[i].name) == 0) inf = &inputs[i];
        if (!inf) {
            fprintf(stderr, "causeway convert: unknown input format '%s'\n", from);
            return CW_EXIT_USAGE;
        }
    }

    o.input_name = strcmp(file, "-") == 0 ? "<stdin>" : file;
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!in) {
        fprintf(stderr, "causeway convert: %s: %s\n", file, strerror(errno));
        return CW_EXIT_USAGE;
    }
    size_t len = 0;
    bool too_big = false;
    char *data = read_all(in, &len, &too_big);
    if (in != stdin) fclose(in);
    if (!data) {
        if (too_big)
            fprintf(stderr, "causeway convert: %s: larger than %zu MiB\n", o.input_name,
                    MAX_INPUT >> 20);
        else
            fprintf(stderr, "causeway convert: %s: read error\n", o.input_name);
        return too_big ? CW_EXIT_FAIL : CW_EXIT_USAGE;
    }
    cw_slice body = {data, len};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) body = cw_slice_sub(body, 3, len - 3);
    if (!inf) {
        size_t fl = strlen(file);
        if (fl > 4 && (strcmp(file + fl - 4, ".hl7") == 0 || strcmp(file + fl - 4, ".HL7") == 0))
            inf = &inputs[2];
    }
    if (!inf) {
        int best = 0;
        for (size_t i = 0; i < N_INPUTS; i++) {
            int s = inputs[i].sniff(body);
            if (s > best) best = s, inf = &inputs[i];
        }
        if (!inf) {
            fprintf(stderr, "causeway convert: %s: unknown input format (use --from)\n",
                    o.input_name);
            free(data);
            return CW_EXIT_FAIL;
        }
    }

    if (inf->read == read_hl7v2) {
        int r = convert_v2(body, &o, of, outfile);
        free(data);
        return r;
    }

    int rc = CW_EXIT_OK;
    struct cw_arena *a = cw_arena_new((size_t)2 << 30);
    struct cw_buf out;
    cw_buf_init(&out, 0);
    struct cw_json *res = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    if (!a) {
        fprintf(stderr, "causeway convert: out of memory\n");
        rc = CW_EXIT_USAGE;
    } else if (inf->read(a, (cw_slice){data, len}, &o, &res, &err) < 0 ||
               of->write(&out, res, &o, &err) < 0) {
        report(&o, &err);
        rc = CW_EXIT_FAIL;
    } else {
        FILE *f = outfile ? fopen(outfile, "wb") : stdout;
        if (!f || fwrite(out.ptr, 1, out.len, f) != out.len || (f != stdout && fclose(f) != 0) ||
            (f == stdout && fflush(stdout) != 0)) {
            fprintf(stderr, "causeway convert: cannot write %s\n", outfile ? outfile : "output");
            rc = CW_EXIT_USAGE;
        }
    }
    cw_buf_release(&out);
    cw_arena_destroy(a);
    free(data);
    return rc;
}
