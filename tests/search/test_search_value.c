/*
 * test_search_value.c — value -> index row conversion (src/search/search_value.c)
 * on typed values made from JSON: HumanName/Address -> strings; Coding,
 * CodeableConcept, Identifier (+ :of-type), ContactPoint, code, boolean ->
 * tokens; date/dateTime/instant/Period/Timing -> ranges; Quantity, Money,
 * Age, Range -> quantities; integer/decimal -> numbers; Reference (relative,
 * versioned, absolute, local base, contained, identifier), canonical -> refs;
 * uri; composite groups; text limits.
 */
#include "testutil.h"

#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "search/search_int.h"
#include "store/store.h"

struct fx {
    struct cw_arena *a;
    struct search_rows r;
    struct cw_err err;
    const struct cw_json *resource;
};

static const struct cw_json *J(struct cw_arena *a, const char *text)
{
    struct cw_json *j;
    struct cw_err err;
    if (cw_json_parse(a, text, strlen(text), NULL, &j, &err) < 0) fail_msg("bad test JSON: %s", err.msg);
    return j;
}

static void fx_init(struct fx *f, const char *resource)
{
    memset(f, 0, sizeof *f);
    f->a = cw_arena_new(0);
    f->resource = resource ? J(f->a, resource) : NULL;
    cw_err_clear(&f->err);
    static const cw_slice bases[] = {{"http://localhost:8080/fhir", 26}};
    struct cw_search_index_opts o = {.local_bases = bases, .n_local_bases = 1};
    search_rows_init(&f->r, f->a, f->resource, &o, &f->err);
}

static int add(struct fx *f, const char *code, enum cw_store_ptype t, const char *type,
               const char *json)
{
    struct search_value v = search_value_json(type, J(f->a, json));
    assert_true(cw_fhir_sd_ok(v.type));
    return search_rows_add_value(&f->r, cw_slice_cstr(code), t, 0, 0, &v);
}

static int64_t range_lo(const char *t)
{
    int64_t lo, hi;
    assert_int_equal(cw_store_date_range(cw_slice_cstr(t), &lo, &hi), 0);
    return lo;
}

static int64_t range_hi(const char *t)
{
    int64_t lo, hi;
    assert_int_equal(cw_store_date_range(cw_slice_cstr(t), &lo, &hi), 0);
    return hi;
}

static void test_strings(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    assert_int_equal(add(&f, "name", CW_SP_STRING, "HumanName",
                         "{\"use\":\"official\",\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"],"
                         "\"prefix\":[\"Mr.\"],\"text\":\"Peter Chalmers\"}"),
                     5);
    assert_slice_equal(f.r.v[0].param, "name");
    assert_int_equal(f.r.v[0].type, CW_SP_STRING);
    assert_slice_equal(f.r.v[0].v.string.exact, "Chalmers");
    assert_slice_equal(f.r.v[1].v.string.exact, "Peter");
    assert_slice_equal(f.r.v[2].v.string.exact, "James");
    assert_slice_equal(f.r.v[3].v.string.exact, "Mr.");
    assert_slice_equal(f.r.v[4].v.string.exact, "Peter Chalmers");
    assert_null(f.r.v[0].v.string.norm.ptr); /* the store folds */
    assert_int_equal(add(&f, "address", CW_SP_STRING, "Address",
                         "{\"line\":[\"534 Erewhon St\"],\"city\":\"PleasantVille\",\"state\":\"Vic\","
                         "\"postalCode\":\"3999\",\"country\":\"AU\",\"use\":\"home\"}"),
                     5);
    assert_int_equal(add(&f, "family", CW_SP_STRING, "string", "\"O'Brien\""), 1);
    assert_slice_equal(f.r.v[f.r.n - 1].v.string.exact, "O'Brien");
    /* types a string parameter does not take, and empty strings */
    assert_int_equal(add(&f, "x", CW_SP_STRING, "Coding", "{\"code\":\"a\"}"), 0);
    assert_int_equal(add(&f, "x", CW_SP_STRING, "string", "\"\""), 0);
    cw_arena_destroy(f.a);
}

static void test_tokens(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    assert_int_equal(add(&f, "code", CW_SP_TOKEN, "CodeableConcept",
                         "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"718-7\","
                         "\"display\":\"Hemoglobin\"},{\"system\":\"http://snomed.info/sct\","
                         "\"code\":\"441689006\"}],\"text\":\"Hb\"}"),
                     3);
    assert_slice_equal(f.r.v[0].v.token.system, "http://loinc.org");
    assert_slice_equal(f.r.v[0].v.token.code, "718-7");
    assert_slice_equal(f.r.v[0].v.token.text, "Hemoglobin");
    assert_slice_equal(f.r.v[1].v.token.system, "http://snomed.info/sct");
    assert_slice_equal(f.r.v[1].v.token.text, "");
    assert_slice_equal(f.r.v[2].v.token.code, "");
    assert_slice_equal(f.r.v[2].v.token.text, "Hb");
    size_t n0 = f.r.n;
    assert_int_equal(add(&f, "gender", CW_SP_TOKEN, "code", "\"male\""), 1);
    assert_slice_equal(f.r.v[n0].v.token.system, "");
    assert_slice_equal(f.r.v[n0].v.token.code, "male");
    assert_int_equal(add(&f, "active", CW_SP_TOKEN, "boolean", "true"), 1);
    assert_slice_equal(f.r.v[n0 + 1].v.token.code, "true");
    assert_int_equal(add(&f, "c", CW_SP_TOKEN, "Coding",
                         "{\"system\":\"s\",\"code\":\"c\",\"display\":\"D\"}"),
                     1);
    assert_slice_equal(f.r.v[n0 + 2].v.token.text, "D");
    assert_int_equal(add(&f, "telecom", CW_SP_TOKEN, "ContactPoint",
                         "{\"system\":\"phone\",\"value\":\"555-1234\",\"use\":\"home\"}"),
                     1);
    assert_slice_equal(f.r.v[n0 + 3].v.token.system, "phone");
    assert_slice_equal(f.r.v[n0 + 3].v.token.code, "555-1234");
    /* Identifier with a type: one plain row plus one :of-type row per type coding */
    n0 = f.r.n;
    assert_int_equal(add(&f, "identifier", CW_SP_TOKEN, "Identifier",
                         "{\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0203\","
                         "\"code\":\"MR\"}],\"text\":\"Medical record\"},\"system\":\"urn:oid:1.2.36\","
                         "\"value\":\"12345\"}"),
                     2);
    assert_slice_equal(f.r.v[n0].param, "identifier");
    assert_slice_equal(f.r.v[n0].v.token.system, "urn:oid:1.2.36");
    assert_slice_equal(f.r.v[n0].v.token.code, "12345");
    assert_slice_equal(f.r.v[n0].v.token.text, "Medical record");
    assert_slice_equal(f.r.v[n0 + 1].param, "identifier:of-type");
    assert_slice_equal(f.r.v[n0 + 1].v.token.system, "http://terminology.hl7.org/CodeSystem/v2-0203|MR");
    assert_slice_equal(f.r.v[n0 + 1].v.token.code, "12345");
    /* empty codings give nothing */
    assert_int_equal(add(&f, "code", CW_SP_TOKEN, "CodeableConcept", "{\"coding\":[{}]}"), 0);
    cw_arena_destroy(f.a);
}

static void test_dates(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    assert_int_equal(add(&f, "birthdate", CW_SP_DATE, "date", "\"1974-12\""), 1);
    assert_true(f.r.v[0].v.date.lo == range_lo("1974-12-01"));
    assert_true(f.r.v[0].v.date.hi == range_lo("1975-01-01"));
    assert_int_equal(add(&f, "date", CW_SP_DATE, "dateTime", "\"2013-04-02T09:30:10+01:00\""), 1);
    assert_true(f.r.v[1].v.date.lo == range_lo("2013-04-02T08:30:10Z"));
    assert_true(f.r.v[1].v.date.hi == range_hi("2013-04-02T08:30:10Z"));
    assert_int_equal(add(&f, "issued", CW_SP_DATE, "instant", "\"2013-04-03T15:30:10.01+01:00\""), 1);
    /* Period: [start, end) by their precision; open ends */
    assert_int_equal(add(&f, "period", CW_SP_DATE, "Period",
                         "{\"start\":\"2010-01-01\",\"end\":\"2011-06\"}"),
                     1);
    assert_true(f.r.v[3].v.date.lo == range_lo("2010-01-01"));
    assert_true(f.r.v[3].v.date.hi == range_lo("2011-07-01"));
    assert_int_equal(add(&f, "period", CW_SP_DATE, "Period", "{\"start\":\"2010-01-01\"}"), 1);
    assert_true(f.r.v[4].v.date.hi == INT64_MAX);
    assert_int_equal(add(&f, "period", CW_SP_DATE, "Period", "{\"end\":\"2010\"}"), 1);
    assert_true(f.r.v[5].v.date.lo == INT64_MIN);
    assert_int_equal(add(&f, "period", CW_SP_DATE, "Period", "{}"), 0);
    /* Timing: first event to the end of the last */
    assert_int_equal(add(&f, "when", CW_SP_DATE, "Timing",
                         "{\"event\":[\"2020-03-05\",\"2020-01-01T10:00:00Z\",\"2020-02\"]}"),
                     1);
    assert_true(f.r.v[6].v.date.lo == range_lo("2020-01-01T10:00:00Z"));
    assert_true(f.r.v[6].v.date.hi == range_lo("2020-03-06"));
    assert_int_equal(add(&f, "when", CW_SP_DATE, "Timing",
                         "{\"repeat\":{\"boundsPeriod\":{\"start\":\"2021-01-01\",\"end\":\"2021-12-31\"}}}"),
                     1);
    assert_true(f.r.v[7].v.date.lo == range_lo("2021-01-01"));
    /* not dates */
    assert_int_equal(add(&f, "d", CW_SP_DATE, "dateTime", "\"not a date\""), 0);
    assert_int_equal(add(&f, "d", CW_SP_DATE, "time", "\"10:00:00\""), 0);
    cw_arena_destroy(f.a);
}

static void test_numbers_quantities(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    assert_int_equal(add(&f, "value-quantity", CW_SP_QUANTITY, "Quantity",
                         "{\"value\":6.3,\"unit\":\"mmol/l\",\"system\":\"http://unitsofmeasure.org\","
                         "\"code\":\"mmol/L\"}"),
                     1);
    assert_true(f.r.v[0].v.quantity.value == 6.3);
    assert_slice_equal(f.r.v[0].v.quantity.system, "http://unitsofmeasure.org");
    assert_slice_equal(f.r.v[0].v.quantity.code, "mmol/L");
    assert_true(f.r.v[0].v.quantity.canon_value == 6.3);
    /* unit used when there is no code; Age is a Quantity */
    assert_int_equal(add(&f, "age", CW_SP_QUANTITY, "Age", "{\"value\":42,\"unit\":\"a\"}"), 1);
    assert_slice_equal(f.r.v[1].v.quantity.code, "a");
    assert_slice_equal(f.r.v[1].v.quantity.system, "");
    assert_int_equal(add(&f, "total", CW_SP_QUANTITY, "Money", "{\"value\":12.50,\"currency\":\"USD\"}"), 1);
    assert_slice_equal(f.r.v[2].v.quantity.system, "urn:iso:std:iso:4217");
    assert_slice_equal(f.r.v[2].v.quantity.code, "USD");
    assert_true(f.r.v[2].v.quantity.value == 12.5);
    assert_int_equal(add(&f, "range", CW_SP_QUANTITY, "Range",
                         "{\"low\":{\"value\":1,\"code\":\"mg\"},\"high\":{\"value\":5,\"code\":\"mg\"}}"),
                     2);
    assert_int_equal(add(&f, "q", CW_SP_QUANTITY, "Quantity", "{\"unit\":\"mg\"}"), 0);
    assert_int_equal(add(&f, "n", CW_SP_NUMBER, "decimal", "0.05"), 1);
    assert_true(f.r.v[5].v.number.value == 0.05);
    assert_int_equal(add(&f, "n", CW_SP_NUMBER, "integer", "-3"), 1);
    assert_true(f.r.v[6].v.number.value == -3.0);
    assert_int_equal(add(&f, "n", CW_SP_NUMBER, "string", "\"3\""), 0);
    /* System values from FHIRPath */
    struct search_value sq = {.kind = SV_QUANTITY, .text = CW_LIT("2.5"), .unit = CW_LIT("mg")};
    assert_int_equal(search_rows_add_value(&f.r, CW_LIT("q"), CW_SP_QUANTITY, 0, 0, &sq), 1);
    assert_slice_equal(f.r.v[7].v.quantity.code, "mg");
    struct search_value sb = {.kind = SV_BOOLEAN, .text = CW_LIT("true")};
    assert_int_equal(search_rows_add_value(&f.r, CW_LIT("deceased"), CW_SP_TOKEN, 0, 0, &sb), 1);
    assert_slice_equal(f.r.v[8].v.token.code, "true");
    cw_arena_destroy(f.a);
}

static void test_references(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"resourceType\":\"Observation\",\"contained\":[{\"resourceType\":\"Patient\","
                "\"id\":\"p1\"}]}");
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference", "{\"reference\":\"Patient/123\"}"), 1);
    assert_slice_equal(f.r.v[0].v.ref.type, "Patient");
    assert_slice_equal(f.r.v[0].v.ref.id, "123");
    assert_slice_equal(f.r.v[0].v.ref.version, "");
    assert_slice_equal(f.r.v[0].v.ref.url, "");
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference",
                         "{\"reference\":\"Patient/123/_history/4\"}"),
                     1);
    assert_slice_equal(f.r.v[1].v.ref.version, "4");
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference",
                         "{\"reference\":\"http://example.org/fhir/Patient/9\"}"),
                     1);
    assert_slice_equal(f.r.v[2].v.ref.url, "http://example.org/fhir/Patient/9");
    assert_slice_equal(f.r.v[2].v.ref.id, "");
    /* our own base: indexed as the relative reference */
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference",
                         "{\"reference\":\"http://localhost:8080/fhir/Patient/7\"}"),
                     1);
    assert_slice_equal(f.r.v[3].v.ref.type, "Patient");
    assert_slice_equal(f.r.v[3].v.ref.id, "7");
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference", "{\"reference\":\"#p1\"}"), 1);
    assert_slice_equal(f.r.v[4].v.ref.type, "Patient");
    assert_slice_equal(f.r.v[4].v.ref.id, "#p1");
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference", "{\"reference\":\"#nope\"}"), 0);
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference",
                         "{\"reference\":\"urn:uuid:8a0b4e6e-3a3c-4d1c-9b1e-0a0a0a0a0a0a\"}"),
                     1);
    assert_slice_equal(f.r.v[5].v.ref.url, "urn:uuid:8a0b4e6e-3a3c-4d1c-9b1e-0a0a0a0a0a0a");
    /* identifier-only reference: the :identifier token row */
    size_t n0 = f.r.n;
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference",
                         "{\"identifier\":{\"system\":\"urn:ssn\",\"value\":\"444\"},\"display\":\"x\"}"),
                     1);
    assert_slice_equal(f.r.v[n0].param, "subject:identifier");
    assert_int_equal(f.r.v[n0].type, CW_SP_TOKEN);
    assert_slice_equal(f.r.v[n0].v.token.code, "444");
    /* display only: nothing; unknown type names become URLs */
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference", "{\"display\":\"x\"}"), 0);
    n0 = f.r.n;
    assert_int_equal(add(&f, "subject", CW_SP_REFERENCE, "Reference", "{\"reference\":\"Bogus/1\"}"), 1);
    assert_slice_equal(f.r.v[n0].v.ref.url, "Bogus/1");
    /* canonical with a version: as written and without it */
    n0 = f.r.n;
    assert_int_equal(add(&f, "questionnaire", CW_SP_REFERENCE, "canonical",
                         "\"http://example.org/Questionnaire/q|2.0\""),
                     2);
    assert_slice_equal(f.r.v[n0].v.ref.url, "http://example.org/Questionnaire/q|2.0");
    assert_slice_equal(f.r.v[n0 + 1].v.ref.url, "http://example.org/Questionnaire/q");
    cw_arena_destroy(f.a);
}

static void test_uri_and_limits(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    assert_int_equal(add(&f, "url", CW_SP_URI, "uri", "\"http://acme.org/fhir/ValueSet/123\""), 1);
    assert_slice_equal(f.r.v[0].v.uri.uri, "http://acme.org/fhir/ValueSet/123");
    assert_int_equal(add(&f, "url", CW_SP_URI, "Coding", "{\"code\":\"x\"}"), 0);
    /* long text is cut at a UTF-8 boundary below CW_SEARCH_MAX_TEXT */
    char big[3100];
    size_t n = 0;
    big[n++] = '"';
    while (n < 3000) {
        big[n++] = (char)0xc3;
        big[n++] = (char)0xa9; /* é */
    }
    big[n++] = '"';
    big[n] = '\0';
    assert_int_equal(add(&f, "name", CW_SP_STRING, "string", big), 1);
    cw_slice s = f.r.v[1].v.string.exact;
    assert_true(s.len <= CW_SEARCH_MAX_TEXT && s.len >= CW_SEARCH_MAX_TEXT - 1);
    assert_true(((unsigned char)s.ptr[s.len - 1]) == 0xa9);
    /* a value with a NUL byte is skipped, not stored */
    assert_int_equal(add(&f, "name", CW_SP_STRING, "string", "\"a\\u0000b\""), 0);
    /* the row limit */
    f.r.max = f.r.n + 1;
    assert_int_equal(add(&f, "name", CW_SP_STRING, "HumanName", "{\"given\":[\"a\",\"b\"]}"), -1);
    assert_int_equal(f.err.issue, CW_ISSUE_TOO_COSTLY);
    cw_arena_destroy(f.a);
}

static void test_composite_groups(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    struct search_value code = search_value_json(
        "CodeableConcept", J(f.a, "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]}"));
    struct search_value qty = search_value_json("Quantity", J(f.a, "{\"value\":120,\"code\":\"mm[Hg]\"}"));
    assert_int_equal(search_rows_add_value(&f.r, CW_LIT("component-code-value-quantity"), CW_SP_TOKEN, 0, 7, &code), 1);
    assert_int_equal(search_rows_add_value(&f.r, CW_LIT("component-code-value-quantity"), CW_SP_QUANTITY, 1, 7, &qty), 1);
    assert_int_equal(f.r.v[0].comp, 0);
    assert_int_equal(f.r.v[1].comp, 1);
    assert_int_equal(f.r.v[0].group, 7);
    assert_int_equal(f.r.v[1].group, 7);
    /* no :of-type / :identifier rows inside composites */
    struct search_value id = search_value_json(
        "Identifier", J(f.a, "{\"type\":{\"coding\":[{\"code\":\"MR\"}]},\"value\":\"1\"}"));
    assert_int_equal(search_rows_add_value(&f.r, CW_LIT("c"), CW_SP_TOKEN, 1, 8, &id), 1);
    cw_arena_destroy(f.a);
}

static void test_ref_parse(void **state)
{
    (void)state;
    struct search_ref r;
    search_ref_parse(NULL, CW_LIT("Observation/abc-1.2"), &r);
    assert_slice_equal(r.type, "Observation");
    assert_slice_equal(r.id, "abc-1.2");
    search_ref_parse(NULL, CW_LIT("Observation/abc/_history/"), &r);
    assert_slice_equal(r.url, "Observation/abc/_history/");
    search_ref_parse(NULL, CW_LIT("123"), &r);
    assert_slice_equal(r.url, "123");
    search_ref_parse(NULL, CW_LIT("Patient/a b"), &r);
    assert_slice_equal(r.url, "Patient/a b");
    search_ref_parse(NULL, CW_LIT("#x"), &r);
    assert_int_equal(r.id.len + r.url.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),          cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_dates),            cmocka_unit_test(test_numbers_quantities),
        cmocka_unit_test(test_references),       cmocka_unit_test(test_uri_and_limits),
        cmocka_unit_test(test_composite_groups), cmocka_unit_test(test_ref_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
