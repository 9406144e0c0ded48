/*
 * test_search_parse.c — search URL -> store plan (src/search/search_parse.c):
 * query splitting and decoding, every parameter type with its modifiers and
 * prefixes, chains (typed, untyped, nested), _has, composites, _sort,
 * _count, _total, _include/_revinclude, _summary/_elements, compartments,
 * strict vs lenient handling, errors with the parameter in the location and
 * no value in the message.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "search/search.h"

struct fx {
    struct cw_arena *a;
    struct cw_search s;
    struct cw_err err;
};

static int parse_h(struct fx *f, const char *type, const char *query, enum cw_search_handling h,
                   const struct cw_search_compartment *comp)
{
    struct cw_search_pair *pairs;
    size_t n;
    cw_err_clear(&f->err);
    if (cw_search_split_query(f->a, cw_slice_cstr(query), 0, &pairs, &n, &f->err) < 0) return -1;
    struct cw_search_opts o = {.handling = h};
    return cw_search_parse(f->a, cw_slice_cstr(type), pairs, n, comp, &o, &f->s, &f->err);
}

static int parse(struct fx *f, const char *type, const char *query)
{
    return parse_h(f, type, query, CW_SEARCH_STRICT, NULL);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->a = cw_arena_new(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cw_arena_destroy(f->a);
    free(f);
    return 0;
}

static void test_split(void **state)
{
    struct fx *f = *state;
    struct cw_search_pair *p;
    size_t n;
    assert_int_equal(cw_search_split_query(f->a, CW_LIT("a=1&&b=%7Cx+y&c&d=%2c"), 0, &p, &n, &f->err), 0);
    assert_int_equal(n, 4);
    assert_slice_equal(p[0].key, "a");
    assert_slice_equal(p[1].value, "|x y");
    assert_slice_equal(p[2].key, "c");
    assert_slice_equal(p[2].value, "");
    assert_slice_equal(p[3].value, ",");
    assert_int_equal(cw_search_split_query(f->a, CW_LIT("a=%zz"), 0, &p, &n, &f->err), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_INVALID);
    assert_int_equal(cw_search_split_query(f->a, CW_LIT("a=%4"), 0, &p, &n, &f->err), -1);
    assert_int_equal(cw_search_split_query(f->a, CW_LIT("a=%00"), 0, &p, &n, &f->err), -1);
    assert_int_equal(cw_search_split_query(f->a, CW_LIT("a=1&b=2&c=3"), 2, &p, &n, &f->err), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_TOO_COSTLY);
    struct cw_buf b;
    cw_buf_init(&b, 1024);
    cw_search_encode(&b, CW_LIT("http://loinc.org|718-7 ,x&y"));
    assert_string_equal(cw_buf_cstr(&b), "http://loinc.org%7C718-7%20%2Cx%26y");
    cw_buf_release(&b);
}

static void test_types_and_values(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Observation",
                           "code=http://loinc.org|718-7,http://loinc.org|4548-4&date=ge2013-01-01&"
                           "date=lt2014&value-quantity=gt5.4|http://unitsofmeasure.org|mg&subject=Patient/1"),
                     0);
    const struct cw_store_plan *pl = &f->s.plan;
    assert_slice_equal(pl->type, "Observation");
    assert_int_equal(pl->nparams, 5);
    assert_slice_equal(pl->params[0].code, "code");
    assert_int_equal(pl->params[0].type, CW_SP_TOKEN);
    assert_int_equal(pl->params[0].nvalues, 2);
    assert_slice_equal(pl->params[0].values[1].text, "http://loinc.org|4548-4");
    assert_int_equal(pl->params[1].type, CW_SP_DATE);
    assert_int_equal(pl->params[1].values[0].prefix, CW_PFX_GE);
    assert_slice_equal(pl->params[1].values[0].text, "2013-01-01");
    assert_int_equal(pl->params[2].values[0].prefix, CW_PFX_LT);
    assert_int_equal(pl->params[3].type, CW_SP_QUANTITY);
    assert_int_equal(pl->params[3].values[0].prefix, CW_PFX_GT);
    assert_slice_equal(pl->params[3].values[0].text, "5.4|http://unitsofmeasure.org|mg");
    assert_int_equal(pl->params[4].type, CW_SP_REFERENCE);
    assert_int_equal(pl->count, 20);
    assert_true(pl->count_set);
    /* strings: a prefix-looking value is just text; escaped commas are one value */
    assert_int_equal(parse(f, "Patient", "name=ge\\,x&family:exact=Chalmers&given:contains=et"), 0);
    assert_int_equal(f->s.plan.params[0].nvalues, 1);
    assert_int_equal(f->s.plan.params[0].values[0].prefix, CW_PFX_EQ);
    assert_slice_equal(f->s.plan.params[0].values[0].text, "ge\\,x");
    assert_int_equal(f->s.plan.params[1].modifier, CW_MOD_EXACT);
    assert_int_equal(f->s.plan.params[2].modifier, CW_MOD_CONTAINS);
    /* special parameters */
    assert_int_equal(parse(f, "Patient", "_id=a,b&_lastUpdated=gt2020&_tag=http://x|y&_profile=http://p"), 0);
    assert_int_equal(f->s.plan.params[0].type, CW_SP_TOKEN);
    assert_int_equal(f->s.plan.params[1].type, CW_SP_DATE);
    assert_int_equal(f->s.plan.params[2].type, CW_SP_TOKEN);
    assert_int_equal(f->s.plan.params[3].type, CW_SP_URI);
    /* a parameter without a value is ignored */
    assert_int_equal(parse(f, "Patient", "name=&gender=male"), 0);
    assert_int_equal(f->s.plan.nparams, 1);
}

static void test_modifiers(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Patient",
                           "gender:not=male&identifier:text=MRN&birthdate:missing=true&"
                           "general-practitioner:Practitioner=9&organization:identifier=urn:x|42"),
                     0);
    const struct cw_store_sp *p = f->s.plan.params;
    assert_int_equal(p[0].modifier, CW_MOD_NOT);
    assert_int_equal(p[1].modifier, CW_MOD_TEXT);
    assert_int_equal(p[2].modifier, CW_MOD_MISSING);
    assert_int_equal(p[3].modifier, CW_MOD_TYPE);
    assert_slice_equal(p[3].target_type, "Practitioner");
    /* :identifier -> token search on the synthetic rows */
    assert_slice_equal(p[4].code, "organization:identifier");
    assert_int_equal(p[4].type, CW_SP_TOKEN);
    assert_int_equal(p[4].modifier, CW_MOD_NONE);
    /* :of-type -> system "sys|code" (escaped bar), code = value */
    assert_int_equal(parse(f, "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053"), 0);
    assert_slice_equal(f->s.plan.params[0].code, "identifier:of-type");
    assert_slice_equal(f->s.plan.params[0].values[0].text,
                       "http://terminology.hl7.org/CodeSystem/v2-0203\\|MR|446053");
    assert_int_equal(parse(f, "Patient", "identifier:of-type=MR|446053"), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_INVALID);
    /* uri */
    assert_int_equal(parse(f, "ValueSet", "url:below=http://acme.org/fhir&url:above=http://acme.org/fhir/ValueSet/1"), 0);
    assert_int_equal(f->s.plan.params[0].modifier, CW_MOD_BELOW);
    assert_int_equal(f->s.plan.params[1].modifier, CW_MOD_ABOVE);
    /* wrong or unsupported modifiers: always errors, with the key as location */
    assert_int_equal(parse_h(f, "Patient", "name:text=x", CW_SEARCH_LENIENT, NULL), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_INVALID);
    assert_string_equal(f->err.location, "name:text");
    assert_int_equal(parse_h(f, "Observation", "code:in=http://vs", CW_SEARCH_LENIENT, NULL), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_NOT_SUPPORTED);
    assert_int_equal(parse(f, "Patient", "birthdate:exact=2000"), -1);
    assert_int_equal(parse(f, "Patient", "gender:bogus=x"), -1);
    assert_int_equal(parse(f, "Patient", "birthdate:missing=maybe"), -1);
}

static void test_bad_values(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Patient", "birthdate=1974-13-01"), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_INVALID);
    assert_string_equal(f->err.location, "birthdate");
    assert_null(strstr(f->err.msg, "1974"));
    assert_int_equal(parse(f, "Patient", "birthdate=xx2000"), -1);
    assert_int_equal(parse(f, "Observation", "value-quantity=abc"), -1);
    assert_int_equal(parse(f, "Observation", "value-quantity=5|mg"), -1);
    assert_int_equal(parse(f, "RiskAssessment", "probability=0.8"), 0);
    assert_int_equal(parse(f, "RiskAssessment", "probability=eight"), -1);
    assert_int_equal(parse(f, "Patient", "birthdate=2000,"), -1);
    /* SQL-looking values are just values */
    assert_int_equal(parse(f, "Patient", "name=x' OR '1'='1&_id=1;DROP TABLE resource"), 0);
    assert_slice_equal(f->s.plan.params[0].values[0].text, "x' OR '1'='1");
}

static void test_chains_and_has(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Observation", "subject:Patient.name=peter"), 0);
    const struct cw_store_sp *p = &f->s.plan.params[0];
    assert_int_equal(p->kind, CW_SPK_CHAIN);
    assert_slice_equal(p->code, "subject");
    assert_slice_equal(p->target_type, "Patient");
    assert_int_equal(p->inner->kind, CW_SPK_PARAM);
    assert_slice_equal(p->inner->code, "name");
    assert_int_equal(p->inner->type, CW_SP_STRING);
    /* untyped: patient's only target is Patient */
    assert_int_equal(parse(f, "Observation", "patient.birthdate=ge1970"), 0);
    assert_slice_equal(f->s.plan.params[0].target_type, "Patient");
    assert_int_equal(f->s.plan.params[0].inner->type, CW_SP_DATE);
    /* several targets define 'name' as a string: any type */
    assert_int_equal(parse(f, "Observation", "subject.name=x"), 0);
    assert_slice_equal(f->s.plan.params[0].target_type, "");
    /* nested: Observation -> Patient -> Organization */
    assert_int_equal(parse(f, "Observation", "subject:Patient.organization.name:exact=Acme"), 0);
    p = &f->s.plan.params[0];
    assert_slice_equal(p->inner->code, "organization");
    assert_int_equal(p->inner->kind, CW_SPK_CHAIN);
    assert_slice_equal(p->inner->target_type, "Organization");
    assert_int_equal(p->inner->inner->modifier, CW_MOD_EXACT);
    /* chains on non-references, unknown links */
    assert_int_equal(parse(f, "Observation", "code.name=x"), -1);
    assert_int_equal(parse(f, "Observation", "subject:Patient.bogus=x"), -1);
    assert_int_equal(parse_h(f, "Observation", "subject:Patient.bogus=x", CW_SEARCH_LENIENT, NULL), 0);
    assert_int_equal(f->s.n_ignored, 1);
    /* too deep */
    assert_int_equal(parse(f, "Patient", "organization.partof.partof.partof.partof.partof.partof.partof.partof.partof.name=x"), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_TOO_COSTLY);
    /* _has, nested */
    assert_int_equal(parse(f, "Patient", "_has:Observation:patient:code=1234-5"), 0);
    p = &f->s.plan.params[0];
    assert_int_equal(p->kind, CW_SPK_HAS);
    assert_slice_equal(p->has_type, "Observation");
    assert_slice_equal(p->has_ref, "patient");
    assert_slice_equal(p->inner->code, "code");
    assert_int_equal(parse(f, "Patient", "_has:Observation:patient:_has:Provenance:target:agent=Practitioner/1"), 0);
    assert_int_equal(f->s.plan.params[0].inner->kind, CW_SPK_HAS);
    assert_int_equal(parse(f, "Patient", "_has:Observation:code:code=1"), -1);
    assert_int_equal(parse(f, "Patient", "_has:Bogus:patient:code=1"), -1);
    assert_int_equal(parse(f, "Patient", "_has:Observation=1"), -1);
}

static void test_composite(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Observation", "code-value-quantity=http://loinc.org|8480-6$gt100"), 0);
    const struct cw_store_sp *p = &f->s.plan.params[0];
    assert_int_equal(p->type, CW_SP_COMPOSITE);
    assert_int_equal(p->ncomp, 2);
    assert_int_equal(p->comp_types[0], CW_SP_TOKEN);
    assert_int_equal(p->comp_types[1], CW_SP_QUANTITY);
    assert_int_equal(p->values[0].prefix, CW_PFX_EQ); /* component prefixes: the store's job */
    assert_int_equal(parse(f, "Observation", "code-value-quantity=http://loinc.org|8480-6"), -1);
    assert_int_equal(parse(f, "Observation", "code-value-quantity:missing=false"), 0);
}

static void test_result_params(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Observation",
                           "_sort=-date,code,_id&_count=5&_total=accurate&_include=Observation:subject&"
                           "_include:iterate=Patient:general-practitioner:Practitioner&"
                           "_revinclude=Provenance:target&_summary=data&_elements=code,status&"
                           "_format=json&_pretty=true&_cursor=abc"),
                     0);
    const struct cw_store_plan *pl = &f->s.plan;
    assert_int_equal(pl->nsort, 3);
    assert_true(pl->sort[0].desc);
    assert_int_equal(pl->sort[0].type, CW_SP_DATE);
    assert_int_equal(pl->sort[1].type, CW_SP_TOKEN);
    assert_slice_equal(pl->sort[2].code, "_id");
    assert_int_equal(pl->count, 5);
    assert_int_equal(pl->total, CW_TOTAL_ACCURATE);
    assert_int_equal(pl->nincludes, 3);
    assert_false(pl->includes[0].rev);
    assert_slice_equal(pl->includes[0].param, "subject");
    assert_true(pl->includes[1].iterate);
    assert_slice_equal(pl->includes[1].target_type, "Practitioner");
    assert_true(pl->includes[2].rev);
    assert_slice_equal(pl->includes[2].source_type, "Provenance");
    assert_int_equal(f->s.summary, CW_SUMMARY_DATA);
    assert_int_equal(f->s.n_elements, 2);
    assert_slice_equal(f->s.elements[1], "status");
    assert_int_equal(f->s.pretty, 1);
    assert_slice_equal(f->s.cursor, "abc");
    assert_int_equal(f->s.n_used, 10); /* all but _cursor */
    /* _count is clamped; _summary=count asks for the total only */
    assert_int_equal(parse(f, "Patient", "_count=100000"), 0);
    assert_int_equal(f->s.plan.count, CW_STORE_DEFAULT_MAX_PAGE);
    assert_int_equal(parse(f, "Patient", "_summary=count"), 0);
    assert_int_equal(f->s.plan.count, 0);
    assert_int_equal(f->s.plan.total, CW_TOTAL_ACCURATE);
    /* errors */
    assert_int_equal(parse(f, "Patient", "_count=-1"), -1);
    assert_int_equal(parse(f, "Patient", "_count=1&_count=2"), -1);
    assert_int_equal(parse(f, "Patient", "_sort=bogus"), -1);
    assert_int_equal(parse(f, "Patient", "_total=all"), -1);
    assert_int_equal(parse(f, "Patient", "_include=Patient:name"), -1);
    assert_int_equal(parse(f, "Patient", "_include=Patient"), -1);
    assert_int_equal(parse(f, "Patient", "_include:deep=Patient:organization"), -1);
    assert_int_equal(parse(f, "Patient", "_summary=maybe"), -1);
    assert_int_equal(parse(f, "Patient", "_include=*"), 0);
    assert_slice_equal(f->s.plan.includes[0].param, "*");
}

static void test_handling(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "Patient", "bogus=1"), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_INVALID);
    assert_string_equal(f->err.location, "bogus");
    assert_int_equal(parse_h(f, "Patient", "bogus=1&name=x&_text=y", CW_SEARCH_LENIENT, NULL), 0);
    assert_int_equal(f->s.plan.nparams, 1);
    assert_int_equal(f->s.n_ignored, 2);
    assert_slice_equal(f->s.ignored[0].key, "bogus");
    assert_slice_equal(f->s.ignored[1].key, "_text");
    assert_int_equal(f->s.n_used, 1);
    assert_int_equal(parse(f, "Patient", "_text=y"), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_NOT_SUPPORTED);
    assert_int_equal(parse(f, "Bogus", "name=x"), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_NOT_FOUND);
    assert_int_equal(parse(f, "Resource", ""), -1);
}

static void test_compartment(void **state)
{
    struct fx *f = *state;
    struct cw_search_compartment c = {CW_LIT("Patient"), CW_LIT("123")};
    assert_int_equal(parse_h(f, "Observation", "code=x", CW_SEARCH_STRICT, &c), 0);
    assert_int_equal(f->s.plan.nparams, 2);
    assert_slice_equal(f->s.plan.params[0].code, "_compartment");
    assert_int_equal(f->s.plan.params[0].type, CW_SP_REFERENCE);
    assert_slice_equal(f->s.plan.params[0].values[0].text, "Patient/123");
    /* a type that is never in the Patient compartment */
    assert_int_equal(parse_h(f, "ValueSet", "", CW_SEARCH_STRICT, &c), -1);
    assert_int_equal(f->err.issue, CW_ISSUE_INVALID);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_split),      T(test_types_and_values), T(test_modifiers), T(test_bad_values),
        T(test_chains_and_has), T(test_composite),    T(test_result_params), T(test_handling),
        T(test_compartment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
