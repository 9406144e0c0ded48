/*
 * test_search_index.c — cw_search_index over real resources: every
 * SearchParameter expression of every resource type compiles; rows of the
 * official Observation and Patient examples are what the definitions say;
 * composites share groups; compartments; the 750 R4 examples and the Synthea
 * bundles index without errors and within limits. Skipped (77) when the
 * FHIRPath engine is not part of the build.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "search/search.h"
#include "search/search_int.h"

static struct cw_json *load(struct cw_arena *a, const char *path, char **buf)
{
    size_t len;
    *buf = cw_test_read_file(path, &len);
    if (!*buf) return NULL;
    struct cw_json *j;
    struct cw_err err;
    if (cw_json_parse(a, *buf, len, NULL, &j, &err) < 0) fail_msg("%s: %s", path, err.msg);
    return j;
}

static size_t count_rows(const struct cw_store_index_row *r, size_t n, const char *param)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += cw_slice_eq_cstr(r[i].param, param);
    return k;
}

static const struct cw_store_index_row *find_token(const struct cw_store_index_row *r, size_t n,
                                                   const char *param, const char *system,
                                                   const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (cw_slice_eq_cstr(r[i].param, param) && r[i].type == CW_SP_TOKEN &&
            cw_slice_eq_cstr(r[i].v.token.system, system) && cw_slice_eq_cstr(r[i].v.token.code, code))
            return &r[i];
    return NULL;
}

static const struct cw_store_index_row *find_ref(const struct cw_store_index_row *r, size_t n,
                                                 const char *param, const char *type, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (cw_slice_eq_cstr(r[i].param, param) && r[i].type == CW_SP_REFERENCE &&
            cw_slice_eq_cstr(r[i].v.ref.type, type) && cw_slice_eq_cstr(r[i].v.ref.id, id))
            return &r[i];
    return NULL;
}

static const char *example(const char *name, char *path, size_t cap)
{
    const char *dir = cw_test_corpus("fhir-r4-examples/spec-examples");
    if (!dir) cw_test_skip("corpus fhir-r4-examples/spec-examples not found");
    snprintf(path, cap, "%s/%s", dir, name);
    return path;
}

/* Every SearchParameter of every resource type compiles for that type. */
static void test_all_types_compile(void **state)
{
    (void)state;
    size_t types = 0, params = 0;
    for (size_t i = 0; i < cw_fhir_core_sd_count(); i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        if (cw_fhir_sd_kind(sd) != CW_FHIR_KIND_RESOURCE || cw_fhir_sd_abstract(sd) ||
            cw_fhir_sd_is_profile(sd))
            continue;
        size_t np = 0;
        size_t failed = search_index_uncompiled(sd, &np);
        if (failed) fail_msg("%s: %zu expressions did not compile", cw_fhir_sd_name(sd).ptr, failed);
        types++;
        params += np;
    }
    printf("%zu resource types, %zu compiled parameters\n", types, params);
    assert_true(types >= 140);
    assert_true(params > 1500);
}

static void test_observation(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    char path[1024], *buf;
    struct cw_json *obs = load(a, example("Observation-example.json", path, sizeof path), &buf);
    struct cw_store_index_row *rows;
    size_t n;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_search_index(a, obs, NULL, &rows, &n, &err), 0);
    assert_true(n > 10);
    assert_non_null(find_token(rows, n, "code", "http://loinc.org", "29463-7"));
    assert_non_null(find_token(rows, n, "code", "http://snomed.info/sct", "27113001"));
    assert_non_null(find_token(rows, n, "status", "", "final"));
    assert_non_null(find_token(rows, n, "category", "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs"));
    assert_non_null(find_ref(rows, n, "subject", "Patient", "example"));
    /* patient = subject.where(resolve() is Patient) */
    assert_non_null(find_ref(rows, n, "patient", "Patient", "example"));
    assert_non_null(find_ref(rows, n, "encounter", "Encounter", "example"));
    assert_non_null(find_ref(rows, n, "_compartment", "Patient", "example"));
    assert_non_null(find_ref(rows, n, "_compartment", "Encounter", "example"));
    /* value-quantity 185 [lb_av] */
    int q = 0;
    for (size_t i = 0; i < n; i++)
        if (cw_slice_eq_cstr(rows[i].param, "value-quantity")) {
            q++;
            assert_true(rows[i].v.quantity.value == 185.0);
            assert_slice_equal(rows[i].v.quantity.code, "[lb_av]");
        }
    assert_int_equal(q, 1);
    /* date = effective 2016-03-28 */
    assert_int_equal(count_rows(rows, n, "date"), 1);
    /* composite code-value-quantity: 4 code rows (comp 0) + 1 quantity (comp 1), one group */
    size_t c0 = 0, c1 = 0;
    uint32_t g = 0;
    for (size_t i = 0; i < n; i++)
        if (cw_slice_eq_cstr(rows[i].param, "code-value-quantity")) {
            if (rows[i].comp == 0) c0++;
            else c1++;
            if (!g) g = rows[i].group;
            assert_int_equal(rows[i].group, g);
            assert_true(g != 0);
        }
    assert_int_equal(c0, 4);
    assert_int_equal(c1, 1);
    /* not indexed: _id, _lastUpdated (store columns) */
    assert_int_equal(count_rows(rows, n, "_id"), 0);
    assert_int_equal(count_rows(rows, n, "_lastUpdated"), 0);
    free(buf);
    cw_arena_destroy(a);
}

static void test_patient(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    char path[1024], *buf;
    struct cw_json *p = load(a, example("Patient-example.json", path, sizeof path), &buf);
    struct cw_store_index_row *rows;
    size_t n;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_search_index(a, p, NULL, &rows, &n, &err), 0);
    assert_true(count_rows(rows, n, "name") >= 4);  /* Chalmers, Peter, James, Jim, ... */
    assert_true(count_rows(rows, n, "family") >= 1);
    assert_non_null(find_token(rows, n, "gender", "", "male"));
    assert_non_null(find_token(rows, n, "identifier", "urn:oid:1.2.36.146.595.217.0.1", "12345"));
    assert_non_null(find_token(rows, n, "identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR", "12345"));
    assert_non_null(find_token(rows, n, "active", "", "true"));
    assert_non_null(find_ref(rows, n, "organization", "Organization", "1"));
    assert_int_equal(count_rows(rows, n, "birthdate"), 1);
    assert_true(count_rows(rows, n, "address-city") >= 1);
    /* deceased: (Patient.deceased.exists() and Patient.deceased != false) */
    assert_non_null(find_token(rows, n, "deceased", "", "false"));
    free(buf);
    cw_arena_destroy(a);
}

struct walk {
    struct cw_arena *a;
    size_t files, resources, rows, max_rows, failed;
};

static void index_one(struct walk *w, const struct cw_json *res, const char *path)
{
    struct cw_store_index_row *rows;
    size_t n;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_search_index(w->a, res, NULL, &rows, &n, &err) < 0) {
        w->failed++;
        print_error("%s: %s\n", path, err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].param.len > 0);
        assert_true(rows[i].type >= CW_SP_STRING && rows[i].type <= CW_SP_URI);
        if (rows[i].type == CW_SP_DATE) assert_true(rows[i].v.date.lo < rows[i].v.date.hi);
    }
    w->resources++;
    w->rows += n;
    if (n > w->max_rows) w->max_rows = n;
}

static void each_file(const char *path, void *ctx)
{
    struct walk *w = ctx;
    size_t len = strlen(path);
    if (len < 5 || strcmp(path + len - 5, ".json") != 0) return;
    char *buf;
    cw_arena_reset(w->a);
    struct cw_json *j = load(w->a, path, &buf);
    w->files++;
    const struct cw_json *rt = cw_json_get(j, "resourceType");
    if (!cw_json_is(rt, CW_JSON_STRING)) {
        free(buf);
        return;
    }
    index_one(w, j, path);
    /* bundles: every entry resource too */
    const struct cw_json *entries = cw_json_get(j, "entry");
    for (uint32_t i = 0; cw_json_is(entries, CW_JSON_ARRAY) && i < entries->len; i++) {
        const struct cw_json *r = cw_json_get(&entries->u.items[i], "resource");
        if (cw_json_is(r, CW_JSON_OBJECT)) index_one(w, r, path);
    }
    free(buf);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhir-r4-examples");
    if (!dir) cw_test_skip("corpus fhir-r4-examples not found");
    struct walk w = {.a = cw_arena_new(0)};
    cw_test_walk(dir, each_file, &w);
    printf("indexed %zu resources from %zu files: %zu rows (max %zu per resource), %zu failed\n",
           w.resources, w.files, w.rows, w.max_rows, w.failed);
    assert_int_equal(w.failed, 0);
    assert_true(w.resources > 10000);
    cw_arena_destroy(w.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_types_compile),
        cmocka_unit_test(test_observation),
        cmocka_unit_test(test_patient),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
