/*
 * bench_fhirxml.c — the peers' `fhir-json-xml` task for Causeway's C code
 * (../shared/bench/peers/README.md, "Plugging in the C implementation";
 * tasks/fhir-json-xml.js).
 *
 *   bench_fhirxml fhir-json-xml --reps R --warmup W DIR...
 *
 * Item: one FHIR resource as JSON text (every *.json file holding an object
 * with a string "resourceType", and every non-blank line of *.ndjson
 * files; a leading BOM stripped; files found recursively, sorted, names
 * starting with '.' skipped; the extensions matched case-insensitively),
 * exactly as lib/fhir.js loadFhirJson counts them. bytes = UTF-8 length of
 * the item text.
 *
 * Timed work per item, single-threaded: JSON text -> cw_json_parse (strict
 * FHIR mode) -> cw_fhir_xml_write (XML text) -> cw_fhir_xml_read (JSON
 * DOM) -> cw_json_write (JSON text). One arena per item, reset between
 * items. W untimed passes, then R timed passes; seconds = median pass.
 *
 * Untimed afterwards: roundtrip_diffs as the peers count them (the
 * round-tripped JSON compared with the input, member order ignored, and in
 * "div" strings quote entities decoded and white space collapsed), plus
 * roundtrip_diffs_exact (member order and div text compared too: what the
 * converter promises), xml_bytes (XML text of one pass), xml_mb_per_s, and
 * phase_ms: one untimed pass per phase to show where the time goes.
 *
 * Output: one JSON line on stdout (benchutil.h); diagnostics on stderr.
 *
 * A second task, not one of the peers':
 *
 *   bench_fhirxml xml-readers --reps R --warmup W DIR...
 *
 * converts the same items to XML (untimed) and times the XML layer's three
 * entry points on that XML — events with no handler (libxml2's floor), the
 * DOM, the xmlTextReader — and cw_fhir_xml_read; bytes = XML bytes; seconds
 * = the events pass; the others are extras (docs/internals/xml.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "fhir/fhir_xml.h"
#include "json/json.h"
#include "xml/xml.h"

struct ctx {
    struct cw_arena *a;
    struct cw_buf xml, json;
    size_t xml_bytes;
};

static int one(struct ctx *c, const struct cw_bench_item *it, struct cw_json **back)
{
    cw_arena_reset(c->a);
    cw_buf_reset(&c->xml);
    cw_buf_reset(&c->json);
    struct cw_json *j, *j2;
    struct cw_err e;
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT};
    if (cw_json_parse(c->a, it->text, it->len, &jo, &j, &e) < 0) return -1;
    if (cw_fhir_xml_write(&c->xml, j, NULL, &e) < 0) return -1;
    c->xml_bytes += c->xml.len;
    if (cw_fhir_xml_read(c->a, c->xml.ptr, c->xml.len, NULL, &j2, &e) < 0) return -1;
    if (cw_json_write(&c->json, j2, 0) < 0) return -1;
    if (back) *back = j2;
    return 0;
}

static size_t pass(struct ctx *c, const struct cw_bench_items *it)
{
    size_t errors = 0;
    c->xml_bytes = 0;
    for (size_t i = 0; i < it->n; i++)
        if (one(c, &it->v[i], NULL) < 0) errors++;
    return errors;
}

/* ---- fidelity (untimed) ---- */

/* lib/fhir.js canon() for div strings: quote entities decoded, white space collapsed. */
static size_t canon_div(cw_slice s, char *out)
{
    size_t k = 0;
    bool space = false;
    for (size_t i = 0; i < s.len;) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&quot;", '"'}, {"&#34;", '"'}, {"&apos;", '\''}, {"&#39;", '\''}};
        bool done = false;
        for (size_t e = 0; e < 4 && !done; e++) {
            size_t el = strlen(ents[e].ent);
            if (i + el <= s.len && memcmp(s.ptr + i, ents[e].ent, el) == 0) {
                if (space && k) out[k++] = ' ';
                space = false;
                out[k++] = ents[e].c;
                i += el;
                done = true;
            }
        }
        if (done) continue;
        char ch = s.ptr[i++];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
            space = true;
            continue;
        }
        if (space && k) {
            /* ">\s+<" becomes "><" */
            if (!(out[k - 1] == '>' && ch == '<')) out[k++] = ' ';
        }
        space = false;
        out[k++] = ch;
    }
    return k;
}

static bool div_equal(cw_slice a, cw_slice b)
{
    char *x = malloc(a.len + 1), *y = malloc(b.len + 1);
    size_t nx = canon_div(a, x), ny = canon_div(b, y);
    bool eq = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return eq;
}

/* Equality with member order ignored; div strings compared like canon(). */
static bool canon_equal(const struct cw_json *a, const struct cw_json *b, bool is_div)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case CW_JSON_STRING:
        if (is_div) return div_equal(cw_json_text(a), cw_json_text(b));
        return cw_slice_eq(cw_json_text(a), cw_json_text(b));
    case CW_JSON_NUMBER: {
        /* JSON.parse compares numbers by value */
        double x, y;
        if (cw_json_to_double(a, &x) < 0 || cw_json_to_double(b, &y) < 0)
            return cw_slice_eq(cw_json_text(a), cw_json_text(b));
        return x == y;
    }
    case CW_JSON_ARRAY:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!canon_equal(&a->u.items[i], &b->u.items[i], false)) return false;
        return true;
    case CW_JSON_OBJECT:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const struct cw_json *bv = cw_json_get_slice(b, a->u.members[i].key);
            if (!bv) return false;
            bool d = cw_slice_eq(a->u.members[i].key, CW_LIT("div"));
            if (!canon_equal(&a->u.members[i].value, bv, d)) return false;
        }
        return true;
    default:
        return true;
    }
}

/* ---- xml-readers ---- */

static double time_median(int reps, int warmup, void (*fn)(const struct cw_buf *, size_t, void *),
                          const struct cw_buf *xs, size_t n, void *ctx)
{
    for (int w = 0; w < warmup; w++) fn(xs, n, ctx);
    double t[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        double t0 = cw_bench_now();
        fn(xs, n, ctx);
        t[r] = cw_bench_now() - t0;
    }
    return cw_bench_median(t, reps);
}

static void run_events(const struct cw_buf *xs, size_t n, void *ctx)
{
    size_t *errors = ctx;
    for (size_t i = 0; i < n; i++) {
        struct cw_err e;
        if (cw_xml_parse(xs[i].ptr, xs[i].len, NULL, NULL, NULL, &e) < 0) (*errors)++;
    }
}

static void run_dom(const struct cw_buf *xs, size_t n, void *ctx)
{
    size_t *errors = ctx;
    for (size_t i = 0; i < n; i++) {
        struct cw_err e;
        xmlDoc *d = NULL;
        if (cw_xml_read_doc(xs[i].ptr, xs[i].len, NULL, &d, &e) < 0) (*errors)++;
        cw_xml_free_doc(d);
    }
}

static void run_reader(const struct cw_buf *xs, size_t n, void *ctx)
{
    size_t *errors = ctx;
    for (size_t i = 0; i < n; i++) {
        struct cw_err e;
        struct cw_xml_reader *r = cw_xml_reader_new(xs[i].ptr, xs[i].len, NULL, &e);
        int x = -1;
        if (r) {
            while ((x = cw_xml_reader_next(r, &e)) == 1) {
            }
        }
        if (x < 0) (*errors)++;
        cw_xml_reader_free(r);
    }
}

static struct cw_arena *fhir_arena;

static void run_fhir(const struct cw_buf *xs, size_t n, void *ctx)
{
    size_t *errors = ctx;
    for (size_t i = 0; i < n; i++) {
        struct cw_err e;
        struct cw_json *j;
        cw_arena_reset(fhir_arena);
        if (cw_fhir_xml_read(fhir_arena, xs[i].ptr, xs[i].len, NULL, &j, &e) < 0) (*errors)++;
    }
}

static int xml_readers(const struct cw_bench_items *it, int reps, int warmup)
{
    struct cw_buf *xs = calloc(it->n ? it->n : 1, sizeof *xs);
    size_t n = 0, bytes = 0, errors = 0;
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    for (size_t i = 0; i < it->n; i++) {
        struct cw_json *j;
        struct cw_err e;
        cw_arena_reset(a);
        cw_buf_init(&xs[n], 0);
        if (cw_json_parse(a, it->v[i].text, it->v[i].len, NULL, &j, &e) == 0 &&
            cw_fhir_xml_write(&xs[n], j, NULL, &e) == 0) {
            bytes += xs[n].len;
            n++;
        } else {
            cw_buf_release(&xs[n]);
            errors++;
        }
    }
    fhir_arena = a;
    size_t e1 = 0, e2 = 0, e3 = 0, e4 = 0;
    double t_ev = time_median(reps, warmup, run_events, xs, n, &e1);
    double t_dom = time_median(reps, warmup, run_dom, xs, n, &e2);
    double t_rd = time_median(reps, warmup, run_reader, xs, n, &e3);
    double t_fx = time_median(reps, warmup, run_fhir, xs, n, &e4);
    char extra[512];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"events_mb_per_s\":%.1f,\"dom_mb_per_s\":%.1f,"
             "\"reader_mb_per_s\":%.1f,\"fhir_read_mb_per_s\":%.1f,\"reader_errors\":%zu",
             reps, warmup, (double)bytes / 1e6 / t_ev, (double)bytes / 1e6 / t_dom,
             (double)bytes / 1e6 / t_rd, (double)bytes / 1e6 / t_fx, e2 + e3 + e4);
    cw_bench_report("xml-readers", "c", n, bytes, t_ev, errors + e1, extra);
    for (size_t i = 0; i < n; i++) cw_buf_release(&xs[i]);
    free(xs);
    cw_arena_destroy(a);
    return 0;
}

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_fhirxml fhir-json-xml|xml-readers [--reps R] [--warmup W] DIR...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    bool readers = strcmp(argv[1], "xml-readers") == 0;
    if (!readers && strcmp(argv[1], "fhir-json-xml") != 0) {
        fprintf(stderr, "bench_fhirxml: only the fhir-json-xml (and xml-readers) tasks are "
                        "implemented here\n");
        return 2;
    }
    int reps = 3, warmup = 1;
    struct cw_bench_items it = {0};
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
            /* other harness options (--exprs, --queries) do not apply here */
            if (i + 1 < argc) i++;
        } else
            cw_bench_load_resources(&it, argv[i]);
    }
    if (reps < 1) reps = 1;
    if (readers) {
        int rc = xml_readers(&it, reps, warmup);
        cw_bench_items_free(&it);
        return rc;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < it.n; i++) bytes += it.v[i].len;

    struct ctx c = {.a = cw_arena_new((size_t)1 << 30)};
    cw_buf_init(&c.xml, 0);
    cw_buf_init(&c.json, 0);
    for (int w = 0; w < warmup; w++) pass(&c, &it);
    double *times = calloc((size_t)reps, sizeof *times);
    size_t errors = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = cw_bench_now();
        errors = pass(&c, &it);
        times[r] = cw_bench_now() - t0;
    }
    double tmin = times[0];
    for (int r = 1; r < reps; r++)
        if (times[r] < tmin) tmin = times[r];
    double med = cw_bench_median(times, reps);
    size_t xml_bytes = c.xml_bytes;

    /* fidelity, untimed */
    size_t diffs = 0, diffs_exact = 0;
    struct cw_arena *a0 = cw_arena_new((size_t)1 << 30);
    for (size_t i = 0; i < it.n; i++) {
        struct cw_json *back, *orig;
        struct cw_err e;
        cw_arena_reset(a0);
        if (one(&c, &it.v[i], &back) < 0 ||
            cw_json_parse(a0, it.v[i].text, it.v[i].len, NULL, &orig, &e) < 0) {
            diffs++;
            diffs_exact++;
            continue;
        }
        if (!canon_equal(orig, back, false)) diffs++;
        if (!cw_json_equal(orig, back)) diffs_exact++;
    }
    cw_arena_destroy(a0);

    /* phases, untimed: one more pass with the clock read around each step */
    double ph[4] = {0};
    for (size_t i = 0; i < it.n; i++) {
        struct cw_json *j, *j2;
        struct cw_err e;
        struct cw_json_opts jo = {.flags = CW_JSON_STRICT};
        cw_arena_reset(c.a);
        cw_buf_reset(&c.xml);
        cw_buf_reset(&c.json);
        double t0 = cw_bench_now();
        if (cw_json_parse(c.a, it.v[i].text, it.v[i].len, &jo, &j, &e) < 0) continue;
        double t1 = cw_bench_now();
        if (cw_fhir_xml_write(&c.xml, j, NULL, &e) < 0) continue;
        double t2 = cw_bench_now();
        if (cw_fhir_xml_read(c.a, c.xml.ptr, c.xml.len, NULL, &j2, &e) < 0) continue;
        double t3 = cw_bench_now();
        cw_json_write(&c.json, j2, 0);
        double t4 = cw_bench_now();
        ph[0] += t1 - t0;
        ph[1] += t2 - t1;
        ph[2] += t3 - t2;
        ph[3] += t4 - t3;
    }

    char extra[512];
    snprintf(extra, sizeof extra,
             "\"reps\":%d,\"warmup\":%d,\"seconds_min\":%.6f,\"roundtrip_diffs\":%zu,"
             "\"roundtrip_diffs_exact\":%zu,\"xml_bytes\":%zu,\"xml_mb_per_s\":%.1f,"
             "\"phase_ms\":{\"json_parse\":%.1f,\"xml_write\":%.1f,\"xml_read\":%.1f,"
             "\"json_write\":%.1f}",
             reps, warmup, tmin, diffs, diffs_exact, xml_bytes,
             med > 0 ? (double)xml_bytes / 1e6 / med : 0, ph[0] * 1e3, ph[1] * 1e3, ph[2] * 1e3,
             ph[3] * 1e3);
    cw_bench_report("fhir-json-xml", "c", it.n, bytes, med, errors, extra);

    free(times);
    cw_buf_release(&c.xml);
    cw_buf_release(&c.json);
    cw_arena_destroy(c.a);
    cw_bench_items_free(&it);
    return 0;
}
