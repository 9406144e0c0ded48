/*
 * test_convert_pairs.c — our v2 -> FHIR bundles against the expected bundles
 * of ../shared/corpus/hl7v2-to-fhir-pairs (ReportStream's v2-to-FHIR output),
 * and every message of ../shared/corpus/hl7v2 through the converter.
 *
 * Pairs: for each X.hl7 with an X.fhir, a pair agrees when (1) the number of
 * resources of each compared type is the same and (2) for the i-th resource
 * of each compared type, every key field value of theirs is among ours.
 * Compared types are the clinical ones; MessageHeader is compared by count.
 * Not compared (docs/conformance.md, "v2-to-FHIR pairs"): Provenance,
 * Organization, Practitioner, PractitionerRole, Location, Device,
 * EpisodeOfCare — ReportStream makes one per occurrence (an Organization per
 * HD, a Location per PL component, a Provenance per segment), we make one
 * per identity. Key fields: identifiers, codes, values, dates (compared as
 * instants), gender, names, and the type each subject/patient reference
 * points at. The agreement and each disagreement class are printed; the
 * bar is 90%.
 *
 * Corpus: every message of hl7v2/ must convert without a crash (ASan/UBSan
 * in CI); the share that converts fully (nothing unmapped, nothing invalid,
 * type supported) is printed.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "convert/convert.h"

static const char *compared[] = {"MessageHeader", "Patient", "Encounter", "Observation", "ServiceRequest",
                                 "DiagnosticReport", "Specimen", "RelatedPerson", "Coverage",
                                 "Immunization", "AllergyIntolerance", "Condition", "Procedure",
                                 "MedicationRequest", "DocumentReference", "Appointment"};
#define NCOMPARED (sizeof compared / sizeof compared[0])

/* Key field paths (array levels left out). */
static const char *keys[] = {
    "identifier.value", "code.coding.code", "code.coding.system", "valueQuantity.value",
    "valueQuantity.code", "valueString", "valueCodeableConcept.coding.code", "valueDateTime",
    "valueTime", "valueRange.low.value", "valueRange.high.value", "valueRatio.numerator.value",
    "valueRatio.denominator.value", "birthDate", "gender", "deceasedDateTime", "effectiveDateTime",
    "issued", "authoredOn", "period.start", "period.end", "collection.collectedDateTime",
    "receivedTime", "occurrenceDateTime", "vaccineCode.coding.code", "name.family", "name.given",
    "type.coding.code", "subject.reference", "patient.reference", "beneficiary.reference",
    "eventCoding.code",
};
#define NKEYS (sizeof keys / sizeof keys[0])

static bool is_date_key(const char *k)
{
    return strstr(k, "Date") || strstr(k, "date") || strcmp(k, "issued") == 0 || strstr(k, "period.") ||
           strcmp(k, "authoredOn") == 0 || strcmp(k, "receivedTime") == 0 || strcmp(k, "valueDateTime") == 0;
}

/* Normalized text of a key value: dates -> UTC instant text; references -> type. */
static void norm(const char *key, cw_slice v, char *out, size_t cap)
{
    if (strstr(key, ".reference")) {
        long slash = cw_slice_index(v, '/');
        snprintf(out, cap, "%.*s", (int)(slash > 0 ? slash : (long)v.len), v.ptr);
        return;
    }
    if (is_date_key(key)) {
        struct cw_dt d, u;
        struct cw_err e;
        if (cw_dt_parse(v, CW_DT_DATETIME, CW_DT_LENIENT, &d, &e) == 0 && cw_dt_to_utc(&d, 0, &u, &e) == 0) {
            if (u.prec > CW_DT_PREC_SECOND) u.prec = CW_DT_PREC_SECOND; /* ".000" */
            cw_dt_format(&u, CW_DT_FMT_SECONDS, out, cap);
            return;
        }
    }
    if (strcmp(key, "valueQuantity.value") == 0 || strstr(key, ".value") == key + strlen(key) - 6) {
        /* numbers: 7.50 == 7.5 */
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)v.len, v.ptr);
        char *end;
        double d = strtod(buf, &end);
        if (*buf && !*end) {
            snprintf(out, cap, "%.12g", d);
            return;
        }
    }
    snprintf(out, cap, "%.*s", (int)v.len, v.ptr);
}

struct kv {
    const char *key;
    char val[128];
};

struct kvs {
    struct kv *v;
    size_t n, cap;
};

static void kv_add(struct kvs *s, const char *key, cw_slice val)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    s->v[s->n].key = key;
    norm(key, val, s->v[s->n].val, sizeof s->v[s->n].val);
    s->n++;
}

/* Collect leaves of r at key paths. */
static void collect(const struct cw_json *v, const char *path, size_t depth, const char *key,
                    struct kvs *out)
{
    if (!v) return;
    if (v->type == CW_JSON_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++) collect(&v->u.items[i], path, depth, key, out);
        return;
    }
    if (!*path) {
        if (v->type == CW_JSON_STRING || v->type == CW_JSON_NUMBER) kv_add(out, key, cw_json_text(v));
        else if (v->type == CW_JSON_TRUE || v->type == CW_JSON_FALSE)
            kv_add(out, key, v->type == CW_JSON_TRUE ? CW_LIT("true") : CW_LIT("false"));
        return;
    }
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    collect(cw_json_get_slice(v, (cw_slice){path, n}), dot ? dot + 1 : "", depth + 1, key, out);
}

static void keys_of(const struct cw_json *r, struct kvs *out)
{
    out->n = 0;
    for (size_t k = 0; k < NKEYS; k++) collect(r, keys[k], 0, keys[k], out);
}

static const struct cw_json *nth(const struct cw_json *bundle, const char *type, size_t n)
{
    const struct cw_json *e = cw_json_get(bundle, "entry");
    for (size_t i = 0; i < (e ? e->len : 0); i++) {
        const struct cw_json *r = cw_json_get(cw_json_at(e, i), "resource");
        if (cw_slice_eq_cstr(cw_json_text(cw_json_get(r, "resourceType")), type) && n-- == 0) return r;
    }
    return NULL;
}

static size_t count(const struct cw_json *bundle, const char *type)
{
    size_t n = 0;
    while (nth(bundle, type, n)) n++;
    return n;
}

/* ---- disagreement classes ---- */

#define MAXCLS 256
struct cls {
    char name[96];
    unsigned n;
    char example[160];
};

struct pairs {
    unsigned total, agree, parsefail, convfail;
    struct cls c[MAXCLS];
    size_t nc;
    bool verbose;
};

static void add_class(struct pairs *p, const char *name, const char *file)
{
    for (size_t i = 0; i < p->nc; i++)
        if (strcmp(p->c[i].name, name) == 0) {
            p->c[i].n++;
            return;
        }
    if (p->nc == MAXCLS) return;
    snprintf(p->c[p->nc].name, sizeof p->c[p->nc].name, "%s", name);
    const char *base = strstr(file, "catchall/");
    snprintf(p->c[p->nc].example, sizeof p->c[p->nc].example, "%s", base ? base + 9 : file);
    p->c[p->nc++].n = 1;
}

static void pair_one(const char *path, void *ctx)
{
    struct pairs *p = ctx;
    size_t pl = strlen(path);
    if (pl < 5 || strcmp(path + pl - 4, ".hl7") != 0) return;
    char fpath[4096];
    snprintf(fpath, sizeof fpath, "%.*s.fhir", (int)(pl - 4), path);
    size_t hlen, flen;
    char *h = cw_test_read_file(path, &hlen), *f = cw_test_read_file(fpath, &flen);
    if (!h || !f) {
        free(h);
        free(f);
        return;
    }
    p->total++;
    struct cw_arena *a = cw_arena_new(0);
    assert_non_null(a);
    struct cw_hl7v2_file *file;
    struct cw_err err;
    struct cw_json *theirs = NULL;
    struct cw_convert_result res;
    bool ok = true;
    char why[160];
    if (cw_json_parse(a, f, flen, NULL, &theirs, &err) != 0) {
        ok = false;
        snprintf(why, sizeof why, "expected .fhir does not parse");
    } else if (cw_hl7v2_parse_file(a, (cw_slice){h, hlen}, NULL, &file, &err) != 0 || file->nitems == 0 ||
               !file->items[0].msg) {
        ok = false;
        p->parsefail++;
        snprintf(why, sizeof why, "v2 parse failed");
    } else if (cw_convert_v2(a, file->items[0].msg, NULL, &res, &err) != 0) {
        ok = false;
        p->convfail++;
        snprintf(why, sizeof why, "convert failed (v2 %d)", (int)err.v2_code);
    }
    if (!ok) {
        add_class(p, why, path);
    } else {
        bool agree = true;
        struct kvs kt = {0}, ko = {0};
        for (size_t t = 0; t < NCOMPARED; t++) {
            size_t nt = count(theirs, compared[t]), no = count(res.bundle, compared[t]);
            if (nt != no) {
                char cname[96];
                snprintf(cname, sizeof cname, "count %s: theirs %s ours", compared[t],
                         nt > no ? ">" : "<");
                add_class(p, cname, path);
                agree = false;
                continue;
            }
            for (size_t i = 0; i < nt; i++) {
                keys_of(nth(theirs, compared[t], i), &kt);
                keys_of(nth(res.bundle, compared[t], i), &ko);
                for (size_t k = 0; k < kt.n; k++) {
                    bool found = false;
                    for (size_t j = 0; j < ko.n && !found; j++)
                        found = kt.v[k].key == ko.v[j].key && strcmp(kt.v[k].val, ko.v[j].val) == 0;
                    if (!found) {
                        char cname[96];
                        snprintf(cname, sizeof cname, "key %s.%s", compared[t], kt.v[k].key);
                        add_class(p, cname, path);
                        if (p->verbose)
                            fprintf(stderr, "  %s: %s.%s theirs=%s\n", path, compared[t], kt.v[k].key,
                                    kt.v[k].val);
                        agree = false;
                    }
                }
            }
        }
        free(kt.v);
        free(ko.v);
        if (agree) p->agree++;
    }
    cw_arena_destroy(a);
    free(h);
    free(f);
}

static int cmp_cls(const void *x, const void *y)
{
    const struct cls *a = x, *b = y;
    return a->n < b->n ? 1 : a->n > b->n ? -1 : strcmp(a->name, b->name);
}

static void test_pairs(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("hl7v2-to-fhir-pairs");
    if (!dir) cw_test_skip("corpus hl7v2-to-fhir-pairs not present");
    static struct pairs p;
    memset(&p, 0, sizeof p);
    p.verbose = getenv("CW_PAIRS_VERBOSE") != NULL;
    cw_test_walk(dir, pair_one, &p);
    assert_true(p.total > 200);
    qsort(p.c, p.nc, sizeof p.c[0], cmp_cls);
    printf("v2-to-FHIR pairs: %u of %u agree (%.1f%%); v2 parse failures %u, convert failures %u\n",
           p.agree, p.total, 100.0 * p.agree / p.total, p.parsefail, p.convfail);
    printf("disagreement classes (pairs hit; example):\n");
    for (size_t i = 0; i < p.nc; i++) printf("  %4u  %-52s %s\n", p.c[i].n, p.c[i].name, p.c[i].example);
    assert_true(p.agree * 10 >= p.total * 9);
}

/* ---- the whole v2 corpus ---- */

struct corpus {
    unsigned files, messages, parse_failed, converted, errors, full;
    unsigned err_codes[300];
};

static void corpus_one(const char *path, void *ctx)
{
    struct corpus *c = ctx;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    if (!data) return;
    c->files++;
    struct cw_arena *a = cw_arena_new(0);
    assert_non_null(a);
    struct cw_hl7v2_file *file;
    struct cw_err err;
    if (cw_hl7v2_parse_file(a, (cw_slice){data, len}, NULL, &file, &err) == 0) {
        for (uint32_t i = 0; i < file->nitems; i++) {
            c->messages++;
            if (!file->items[i].msg) {
                c->parse_failed++;
                continue;
            }
            struct cw_convert_result r;
            if (cw_convert_v2(a, file->items[i].msg, NULL, &r, &err) != 0) {
                c->errors++;
                if (err.v2_code < 300) c->err_codes[err.v2_code]++;
                continue;
            }
            c->converted++;
            /* the bundle must serialize and parse back */
            struct cw_buf b;
            cw_buf_init(&b, 0);
            assert_int_equal(cw_json_write(&b, r.bundle, 0), 0);
            struct cw_json *back;
            assert_int_equal(cw_json_parse(a, b.ptr, b.len, NULL, &back, &err), 0);
            cw_buf_release(&b);
            if (cw_convert_report_full(&r.report)) c->full++;
        }
    } else
        c->parse_failed++;
    cw_arena_destroy(a);
    free(data);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("hl7v2");
    if (!dir) cw_test_skip("corpus hl7v2 not present");
    struct corpus c;
    memset(&c, 0, sizeof c);
    cw_test_walk(dir, corpus_one, &c);
    assert_true(c.messages > 600);
    unsigned parsed = c.messages - c.parse_failed;
    printf("hl7v2 corpus: %u files, %u messages; %u parsed, %u converted (%u refused with a v2 error:",
           c.files, c.messages, parsed, c.converted, c.errors);
    for (unsigned k = 0; k < 300; k++)
        if (c.err_codes[k]) printf(" %u x%u", k, c.err_codes[k]);
    printf("), %u converted fully (%.1f%% of parsed)\n", c.full, parsed ? 100.0 * c.full / parsed : 0.0);
    assert_true(c.converted > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
